"""Square connector (Square-Version 2025-08-20): Catalog, Inventory, Orders and webhooks."""

from channelhub.connectors.square.config import SquareConfig
from channelhub.connectors.square.connector import SquareConnector

__all__ = ["SquareConfig", "SquareConnector"]
