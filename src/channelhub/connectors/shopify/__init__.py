"""Shopify: the Admin GraphQL API 2026-01 and HMAC-signed order webhooks."""

from channelhub.connectors.shopify.client import API_VERSION, ThrottleStatus
from channelhub.connectors.shopify.connector import ShopifyConfig, ShopifyConnector, VariantRef

__all__ = ["API_VERSION", "ShopifyConfig", "ShopifyConnector", "ThrottleStatus", "VariantRef"]
