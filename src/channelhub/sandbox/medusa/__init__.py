"""A Medusa v2 Admin API sandbox for tests and the demo (see ``app.py`` for the contract)."""

from channelhub.sandbox.medusa.app import create_app
from channelhub.sandbox.medusa.state import MedusaState

__all__ = ["MedusaState", "create_app"]
