"""The Amazon SP-API sandbox's own state: LWA apps and tokens, listings, feed documents and
feeds, orders and shipment confirmations, and the usage plans it enforces.

Written from Amazon's published contracts alone (``shared/specs/amazon-sp-api/``: Listings
Items 2021-08-01, Feeds 2021-06-30 with the JSON listings feed and report schemas v2, Orders
v0); it never imports the connector.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channelhub.sandbox.faults import TokenBucket

TOKEN_LIFETIME_SECONDS = 3600  # what Login with Amazon grants

#: The default usage plans (rate per second, burst) in each operation's model description.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getListingsItem": (5, 10),
    "putListingsItem": (5, 10),
    "patchListingsItem": (5, 5),
    "deleteListingsItem": (5, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2, 15),
    "getFeeds": (0.0222, 10),
    "getFeedDocument": (0.0222, 10),
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2, 10),
}


def now_iso() -> str:
    """ISO 8601 UTC with milliseconds, so that two changes within a second stay ordered."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Seller:
    seller_id: str
    marketplace_id: str


@dataclass
class Feed:
    feed_id: str
    document_id: str
    marketplace_ids: list[str]
    seller_id: str
    ready_at: float
    created: str = field(default_factory=now_iso)
    status: str = "IN_QUEUE"
    result_document_id: str | None = None
    started: str | None = None
    finished: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "feedId": self.feed_id,
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": self.marketplace_ids,
            "createdTime": self.created,
            "processingStatus": self.status,
        }
        if self.started:
            body["processingStartTime"] = self.started
        if self.finished:
            body["processingEndTime"] = self.finished
        if self.result_document_id:
            body["resultFeedDocumentId"] = self.result_document_id
        return body


@dataclass
class Document:
    content_type: str
    content: bytes | None = None  # None until uploaded


@dataclass
class AmazonState:
    """Everything the sandbox remembers. Tests reach in to place orders and inspect listings."""

    client_id: str = "amzn1.application-oa2-client.sandbox"
    client_secret: str = "sandbox-secret"
    # refresh token -> the seller (and marketplace) that authorized the app
    refresh_tokens: dict[str, Seller] = field(
        default_factory=lambda: {
            "Atzr|sandbox-refresh": Seller("A2SANDBOXSELLER", "A1PA6795UKMFR9")
        }
    )
    token_lifetime: float = TOKEN_LIFETIME_SECONDS
    feed_delay: float = 0.2  # how long a feed stays IN_QUEUE
    gzip_reports: bool = False  # serve processing reports GZIP-compressed
    plans: dict[str, tuple[float, int]] = field(default_factory=lambda: dict(USAGE_PLANS))
    tokens: dict[str, tuple[float, Seller]] = field(default_factory=dict)  # -> expiry, seller
    listings: dict[str, dict[str, Any]] = field(default_factory=dict)  # by SKU
    documents: dict[str, Document] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    order_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    confirmations: list[dict[str, Any]] = field(default_factory=list)  # (orderId + body)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (operation, path) log
    page_tokens: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def seller(self) -> Seller:
        return next(iter(self.refresh_tokens.values()))

    @property
    def refresh_token(self) -> str:
        return next(iter(self.refresh_tokens))

    def next_id(self) -> int:
        return next(self._ids)

    # --- tokens -------------------------------------------------------------------------

    def issue_token(self, seller: Seller) -> str:
        token = "Atza|" + secrets.token_urlsafe(24)
        self.tokens[token] = (time.monotonic() + self.token_lifetime, seller)
        return token

    def token_seller(self, token: str | None) -> Seller | str:
        """The seller an access token acts for, or why it is refused."""
        if not token or token not in self.tokens:
            return "The access token you provided is revoked, malformed or invalid."
        expiry, seller = self.tokens[token]
        if time.monotonic() >= expiry:
            return "The access token you provided has expired."
        return seller

    def expire_tokens(self) -> None:
        """Make every issued token expired (tests of the refresh path)."""
        for token, (_, seller) in self.tokens.items():
            self.tokens[token] = (0.0, seller)

    # --- usage plans ----------------------------------------------------------------------

    def bucket(self, operation: str) -> tuple[TokenBucket, float]:
        rate, burst = self.plans.get(operation, (1.0, 5))
        if operation not in self._buckets:
            self._buckets[operation] = TokenBucket(rate=rate, capacity=burst)
        return self._buckets[operation], rate

    # --- orders ---------------------------------------------------------------------------

    def create_order(
        self,
        items: list[tuple[str, int, float]],
        *,
        status: str = "Unshipped",
        currency: str = "EUR",
        fulfillment_channel: str = "MFN",
        buyer_name: str = "Billie Jansen",
    ) -> str:
        """Place an order of ``(seller SKU, quantity, unit price)`` items as a buyer would;
        the order id in Amazon's 3-7-7 format."""
        number = self.next_id()
        order_id = f"302-{number:07d}-{(number * 7919) % 10_000_000:07d}"
        placed = now_iso()
        total = round(sum(quantity * price for _, quantity, price in items), 2)
        self.order_items[order_id] = [
            self._item(sku, quantity, price, currency) for sku, quantity, price in items
        ]
        self.orders[order_id] = {
            "AmazonOrderId": order_id,
            "PurchaseDate": placed,
            "LastUpdateDate": placed,
            "OrderStatus": status,
            "FulfillmentChannel": fulfillment_channel,
            "SalesChannel": "Amazon.de",
            "ShipServiceLevel": "Std DE Dom",
            "OrderTotal": {"CurrencyCode": currency, "Amount": f"{total:.2f}"},
            "NumberOfItemsShipped": 0,
            "NumberOfItemsUnshipped": sum(quantity for _, quantity, _ in items),
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": self.seller.marketplace_id,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "EarliestShipDate": placed,
            "LatestShipDate": placed,
            "IsBusinessOrder": False,
            "IsPrime": False,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsReplacementOrder": False,
            "IsSoldByAB": False,
            "IsISPU": False,
            "IsAccessPointOrder": False,
            "ShippingAddress": {
                "Name": buyer_name,
                "AddressLine1": "Hauptstraße 1",
                "City": "Berlin",
                "PostalCode": "10115",
                "CountryCode": "DE",
                "Phone": "+49 30 1234567",
                "AddressType": "Residential",
            },
            "BuyerInfo": {
                "BuyerEmail": f"{secrets.token_hex(8)}@marketplace.amazon.de",
                "BuyerName": buyer_name,
            },
        }
        return order_id

    def _item(self, sku: str, quantity: int, price: float, currency: str) -> dict[str, Any]:
        listing = self.listings.get(sku) or {}
        names = (listing.get("attributes") or {}).get("item_name") or [{}]
        tax = price * quantity * 0.19 / 1.19  # German VAT included in the price
        return {
            "ASIN": listing.get("asin") or f"B0{self.next_id():08d}",
            "SellerSKU": sku,
            "OrderItemId": f"{10_000_000_000_000 + self.next_id()}",
            "Title": names[0].get("value") or sku,
            "QuantityOrdered": quantity,
            "QuantityShipped": 0,
            "ItemPrice": {"CurrencyCode": currency, "Amount": f"{price * quantity:.2f}"},
            "ItemTax": {
                "CurrencyCode": currency,
                "Amount": f"{tax:.2f}",
            },
            "PromotionDiscount": {"CurrencyCode": currency, "Amount": "0.00"},
            "IsGift": "false",
            "ConditionId": "New",
            "ConditionSubtypeId": "New",
            "IsTransparency": False,
            "SerialNumberRequired": False,
        }

    def set_order_status(self, order_id: str, status: str) -> None:
        """Move an order on (Pending -> Unshipped when payment is authorized, Canceled...)."""
        order = self.orders[order_id]
        order["OrderStatus"] = status
        order["LastUpdateDate"] = now_iso()
