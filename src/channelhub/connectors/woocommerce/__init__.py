"""WooCommerce: the REST API v3 (wc/v3) and HMAC-signed order webhooks."""

from channelhub.connectors.woocommerce.client import API_VERSION
from channelhub.connectors.woocommerce.connector import WooCommerceConfig, WooCommerceConnector

__all__ = ["API_VERSION", "WooCommerceConfig", "WooCommerceConnector"]
