"""bol.com connector: Offers API v11 for offers, Retailer API v10 for orders and shipments."""

from channelhub.connectors.bol.config import BolConfig
from channelhub.connectors.bol.connector import BolConnector

__all__ = ["BolConfig", "BolConnector"]
