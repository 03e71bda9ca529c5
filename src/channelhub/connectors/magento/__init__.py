"""Magento 2 / Adobe Commerce: the admin REST API 2.4.9 (products, MSI, orders, shipments)."""

from channelhub.connectors.magento.client import API_VERSION
from channelhub.connectors.magento.connector import MagentoConfig, MagentoConnector

__all__ = ["API_VERSION", "MagentoConfig", "MagentoConnector"]
