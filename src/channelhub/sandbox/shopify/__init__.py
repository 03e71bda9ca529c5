"""A local Shopify: the Admin GraphQL API 2026-01 subset channelhub uses, executed against
Shopify's official SDL, with its own state, cost-based throttle, faults and signed webhooks."""

from channelhub.sandbox.shopify.app import create_app
from channelhub.sandbox.shopify.schema import API_VERSION, load_schema, schema_path
from channelhub.sandbox.shopify.state import ShopifyState
from channelhub.sandbox.shopify.webhooks import order_payload, send_webhook, sign, webhook_request

__all__ = [
    "API_VERSION",
    "ShopifyState",
    "create_app",
    "load_schema",
    "order_payload",
    "schema_path",
    "send_webhook",
    "sign",
    "webhook_request",
]
