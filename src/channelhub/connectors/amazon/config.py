"""What an Amazon Selling Partner API connection needs: the seller, the marketplace, the
region's endpoint and the Login-with-Amazon (LWA) app credentials with the seller's refresh
token."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, SecretStr

from channelhub.connectors.base import ConnectorConfig

#: SP-API endpoints per region (developer-docs.amazon.com/sp-api/docs/sp-api-endpoints).
REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


class AmazonConfig(ConnectorConfig):
    """An SP-API connection for one seller in one marketplace."""

    seller_id: str = Field(min_length=1)  # the merchant token, e.g. A2EXAMPLE1234
    marketplace_id: str = Field(min_length=1)  # e.g. A1PA6795UKMFR9 (amazon.de)
    region: Literal["na", "eu", "fe"] = "eu"
    client_id: str = Field(min_length=1)  # the LWA app's client identifier
    client_secret: SecretStr
    refresh_token: SecretStr  # what the seller's authorization of the app returned
    # Overridable so the same code talks to channelhub's sandbox (which serves both).
    endpoint: str | None = Field(default=None, pattern=r"^https?://")
    token_url: str = Field(default=LWA_TOKEN_URL, pattern=r"^https?://")
    # How listings are described: the Amazon product type and the language of the text.
    product_type: str = Field(default="PRODUCT", min_length=1)
    language_tag: str = Field(default="en_US", pattern=r"^[a-z]{2}_[A-Z]{2}$")
    condition_type: str = "new_new"
    # Above this many SKUs in one stock or price batch, send one JSON_LISTINGS_FEED instead
    # of one patchListingsItem per SKU.
    feed_threshold: int = Field(default=20, ge=1, le=10_000)
    # getOrders grants a burst of 20 then one request a minute, getOrderItems 30 then one
    # every two seconds: pages of 20 orders keep one poll within both budgets.
    orders_page_size: int = Field(default=20, ge=1, le=100)
    # Merchant-fulfilled orders only by default: Amazon ships its own FBA (AFN) orders.
    fulfillment_channels: tuple[Literal["MFN", "AFN"], ...] = ("MFN",)
    import_orders_since: datetime | None = None  # first poll starts here (default: 30 days)
    # confirmShipment requires a carrier: used when the hub's shipment names none.
    default_carrier: str = "Other"
    default_carrier_name: str = "Other"

    @property
    def base_url(self) -> str:
        return (self.endpoint or REGION_ENDPOINTS[self.region]).rstrip("/")
