"""The connector interface: capabilities, configuration, and the values exchanged with the engine.

A connector is constructed with its validated configuration and an ``httpx.AsyncClient`` that
the engine owns (one per connection: the engine attaches its message log and redaction to it).
A connector raises ``DeliveryError`` subclasses; the engine decides what to retry, when, and
when to give up. Every effect a connector has must be safe to repeat (an absolute quantity, a
compare-and-set, an idempotency key), because after a crash a delivery may run twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict


class Capability(StrEnum):
    PUSH_LISTINGS = "push_listings"
    PUSH_STOCK = "push_stock"
    PUSH_PRICES = "push_prices"
    PULL_ORDERS = "pull_orders"
    RECEIVE_WEBHOOKS = "receive_webhooks"
    PUSH_FULFILMENTS = "push_fulfilments"
    PUSH_CANCELLATIONS = "push_cancellations"
    READ_STOCK = "read_stock"
    READ_PRICES = "read_prices"


class ModelListing(StrEnum):
    """How a platform lists a product model (the product that groups variants by size, colour).

    ``SEPARATELY``: the model and each variant are sent as listings of their own, linked by
    ``parent_sku`` (WooCommerce variations, Medusa variants). ``WITH_VARIANTS``: the platform
    sets a product and all of its variants in one call that replaces the variant list
    (Shopify's ``productSet``), so the model is sent with every variant, also when only one
    variant changed. ``NOT_LISTED``: an offer per sellable SKU (bol.com, Amazon); a model has
    no EAN and no stock, so only its variants are sent, each on its own.
    """

    SEPARATELY = "separately"
    WITH_VARIANTS = "with_variants"
    NOT_LISTED = "not_listed"


class ConnectorConfig(BaseModel):
    """Base of every connector's configuration; secrets are ``pydantic.SecretStr`` fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class RateLimit:
    """A documented request budget: ``rate`` requests per second with bursts up to ``burst``."""

    rate: float
    burst: int


# --- what the hub sends ---------------------------------------------------------------------


@dataclass(frozen=True)
class StockLevel:
    """The absolute quantity a channel may sell of one SKU (never a delta: repeats are safe)."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class ChannelPrice:
    sku: str
    amount: Decimal
    currency: str
    compare_at: Decimal | None = None


@dataclass(frozen=True)
class Listing:
    """A product as one channel shows it, after the channel's mapping and templates."""

    sku: str
    title: str
    description: str = ""
    brand: str | None = None
    gtin: str | None = None
    images: tuple[str, ...] = ()
    parent_sku: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    category: str | None = None
    on_hold: bool = False
    #: The channel's effective price, for platforms that cannot list an offer without one
    #: (bol.com, Amazon); the engine fills it from the one price-resolution function.
    price: ChannelPrice | None = None
    #: A product model's variants, each with its ``options`` and price, for connectors that
    #: list models ``WITH_VARIANTS``; empty otherwise.
    variants: tuple[Listing, ...] = ()


@dataclass(frozen=True)
class FulfilmentLine:
    external_line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Fulfilment:
    external_order_id: str
    lines: tuple[FulfilmentLine, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class Cancellation:
    external_order_id: str
    external_line_ids: tuple[str, ...]
    reason: str


# --- what a channel sends back ---------------------------------------------------------------


@dataclass(frozen=True)
class ChannelAddress:
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ChannelOrderLine:
    external_line_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)


@dataclass(frozen=True)
class ChannelOrder:
    """An order as a channel reports it, before the hub normalizes and imports it."""

    external_id: str
    created_at: datetime
    currency: str
    lines: tuple[ChannelOrderLine, ...]
    customer_email: str | None = None
    customer_name: str | None = None
    customer_external_id: str | None = None
    shipping_address: ChannelAddress | None = None
    billing_address: ChannelAddress | None = None
    pickup_location: str | None = None
    #: A sale made at a till (the customer left with the goods): with ``pickup_location``
    #: naming the store, the hub records it as collected at once and takes the units off
    #: that store's shelf.
    in_store: bool = False
    is_paid: bool = True
    cancelled: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[ChannelOrder, ...]
    cursor: str | None  # persisted by the engine and handed back on the next poll


@dataclass(frozen=True)
class Accepted:
    """The platform took the work. ``pending`` names an asynchronous confirmation to follow
    (bol.com's process status, Amazon's feed) with ``check_pending``."""

    pending: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class WebhookMessage:
    """A verified inbound webhook: its dedupe id and what it is about."""

    event_id: str
    topic: str
    entity: str | None
    order: ChannelOrder | None = None


# --- errors ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A call that did not take effect. ``retryable`` says whether trying again can help."""

    retryable = True

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class TransientError(DeliveryError):
    """5xx, timeouts, connection failures: try again later."""


class RateLimited(TransientError):
    """429 or a throttle: wait ``retry_after`` seconds (the engine also slows this connection)."""


class PermanentError(DeliveryError):
    """The platform refused the content (4xx other than 429): retrying cannot help."""

    retryable = False


class PartialFailure(DeliveryError):
    """Some items of a batch did not take effect and the others did: ``failures`` maps each
    failed key (a SKU, an order id) to its own error; every other item of the batch is done,
    as ``accepted`` says. The engine retries or gives up on each failed key alone."""

    def __init__(
        self, failures: Mapping[str, DeliveryError], accepted: Accepted | None = None
    ) -> None:
        keys = ", ".join(sorted(failures))
        super().__init__(f"{len(failures)} item(s) failed: {keys}")
        self.failures = dict(failures)
        self.accepted = accepted or Accepted()


class Unsupported(PermanentError):
    """The connector does not have this capability."""


def error_from_response(response: httpx.Response, detail: str) -> DeliveryError:
    """The right DeliveryError for an HTTP response that was not a success."""
    status = response.status_code
    retry_after = _retry_after(response.headers.get("Retry-After"))
    message = f"{response.request.method} {response.request.url.path} -> {status}: {detail}"
    if status == 429:
        return RateLimited(message, status=status, retry_after=retry_after)
    if status >= 500 or status in (408, 409, 425):
        return TransientError(message, status=status, retry_after=retry_after)
    return PermanentError(message, status=status)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Connector:
    """Base of every platform connector. Subclasses set the class attributes and override the
    methods of the capabilities they declare; the others raise ``Unsupported``."""

    platform: ClassVar[str]
    api_version: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=5, burst=10)
    max_batch: ClassVar[int] = 1
    models: ClassVar[ModelListing] = ModelListing.SEPARATELY

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    def _unsupported(self, what: str) -> Unsupported:
        return Unsupported(f"{self.platform} connector cannot {what}")

    async def test_connection(self) -> str:
        """A short human description of what the credentials reach, or a DeliveryError."""
        raise self._unsupported("test a connection")

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        raise self._unsupported("push listings")

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        raise self._unsupported("push stock")

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        raise self._unsupported("push prices")

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        raise self._unsupported("fetch orders")

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        raise self._unsupported("push fulfilments")

    async def push_cancellation(self, cancellation: Cancellation) -> Accepted:
        raise self._unsupported("push cancellations")

    async def check_pending(self, pending: str) -> Accepted:
        """Follow an asynchronous confirmation: Accepted(pending=...) while still waiting,
        Accepted() when done, PermanentError when the platform reports failure."""
        raise self._unsupported("follow asynchronous confirmations")

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        raise self._unsupported("read stock back")

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        raise self._unsupported("read prices back")

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether this is the platform's unsigned "is this URL alive?" call (WooCommerce sends
        one when a webhook is saved): answered 2xx and never stored."""
        return False

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the raw body carries a valid signature (constant-time compare; accept any of
        the live secrets during a rotation). Must not raise on garbage."""
        return False

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        raise self._unsupported("receive webhooks")


def redacted_config(config: ConnectorConfig) -> dict[str, Any]:
    """The configuration with every secret shown as '**********'."""
    return config.model_dump(mode="json")
