"""Page groups of the admin that live in modules of their own, each with its router."""
