"""bol.com Retailer API sandbox (Offers API v11, Retailer and Shared API v10)."""

from channelhub.sandbox.bol.app import create_app
from channelhub.sandbox.bol.state import BolState, Limit
from channelhub.sandbox.bol.subscriptions import notify

__all__ = ["BolState", "Limit", "create_app", "notify"]
