"""Square API sandbox (Square-Version 2025-08-20): Locations, Catalog, Inventory, Orders and
signed webhooks, written from Square's published OpenAPI contract."""

from channelhub.sandbox.square.app import create_app
from channelhub.sandbox.square.state import SquareState
from channelhub.sandbox.square.webhooks import send_webhook, signature

__all__ = ["SquareState", "create_app", "send_webhook", "signature"]
