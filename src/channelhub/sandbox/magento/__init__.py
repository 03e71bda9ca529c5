"""A Magento 2.4.9 admin REST simulator (products, MSI source items, prices, orders, shipping)."""

from channelhub.sandbox.magento.app import create_app
from channelhub.sandbox.magento.state import MagentoState

__all__ = ["MagentoState", "create_app"]
