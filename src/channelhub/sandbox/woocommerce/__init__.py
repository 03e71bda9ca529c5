"""A WooCommerce REST API v3 simulator (products, variations, orders, notes, webhooks)."""

from channelhub.sandbox.woocommerce.app import create_app
from channelhub.sandbox.woocommerce.state import WooState
from channelhub.sandbox.woocommerce.webhooks import send_ping, send_webhook, sign

__all__ = ["WooState", "create_app", "send_ping", "send_webhook", "sign"]
