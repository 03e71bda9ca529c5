"""Orders: one normalized order for every channel, its state machine, routing and returns."""
