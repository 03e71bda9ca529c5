"""The REST API under /api/v1: the headless front for apps, stores and integrators."""
