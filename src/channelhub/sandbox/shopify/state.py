"""What the Shopify sandbox remembers: one shop's products, stock, orders and fulfilments.

Plain records keyed by Shopify global IDs (``gid://shopify/<Type>/<number>``). The GraphQL
views over them are in ``resolvers``; helpers for tests (placing an order) are here.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from channelhub.sandbox.faults import TokenBucket

# Bucket sizes per plan. Restore rates from Shopify's "GraphQL Admin API rate limits" page as
# read for 2026-01 (Standard 100, Advanced 200, Plus 1000 points/second); the page no longer
# prints bucket sizes, so the bucket keeps the 20-second depth of the older documented pair
# (1,000 points restoring at 50/s) and never goes below the 1,000-point single-query maximum.
PLAN_LIMITS: dict[str, tuple[float, float]] = {
    "standard": (2000.0, 100.0),
    "advanced": (4000.0, 200.0),
    "plus": (20000.0, 1000.0),
}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass
class Location:
    id: str
    name: str


@dataclass
class InventoryItem:
    id: str
    sku: str | None
    tracked: bool = True
    available: dict[str, int] = field(default_factory=dict)  # location id -> quantity
    updated_at: datetime = field(default_factory=now)


@dataclass
class Variant:
    id: str
    product_id: str
    inventory_item_id: str
    option_values: tuple[tuple[str, str], ...]
    sku: str | None = None
    price: Decimal = Decimal("0.00")
    compare_at_price: Decimal | None = None
    barcode: str | None = None
    position: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Product:
    id: str
    handle: str
    title: str
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    status: str = "ACTIVE"
    tags: list[str] = field(default_factory=list)
    options: list[tuple[str, list[str]]] = field(default_factory=list)
    variant_ids: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class OrderLine:
    id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    tax_rate: float = 0.0
    variant_id: str | None = None


@dataclass
class Address:
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    zip: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None

    @property
    def name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None


@dataclass
class Customer:
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None


@dataclass
class Order:
    id: str
    number: int
    currency: str
    lines: list[OrderLine]
    email: str | None = None
    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    financial_status: str = "PAID"  # OrderDisplayFinancialStatus
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass
class FulfillmentOrderLine:
    id: str
    line_item_id: str
    total_quantity: int
    remaining_quantity: int


@dataclass
class FulfillmentOrder:
    id: str
    order_id: str
    location_id: str
    lines: list[FulfillmentOrderLine]
    status: str = "OPEN"  # FulfillmentOrderStatus
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Fulfillment:
    id: str
    order_id: str
    lines: list[tuple[str, int]]  # fulfillment order line id, quantity
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    notify_customer: bool = False
    status: str = "SUCCESS"
    created_at: datetime = field(default_factory=now)


@dataclass
class ShopifyState:
    """One shop as an app with ``access_token`` sees it. ``client_secret`` signs webhooks."""

    shop: str = "channelhub-sandbox"
    shop_name: str = "Channelhub Sandbox"
    access_token: str = "shpat_sandbox"
    client_secret: str = "sandbox-client-secret"
    currency: str = "EUR"
    #: Whether the shop's prices include tax (EU VAT, the default) or have it added (US).
    taxes_included: bool = True
    tax_rate: Decimal = Decimal("0.21")
    plan: str = "standard"
    locations: dict[str, Location] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    inventory_items: dict[str, InventoryItem] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    fulfillment_orders: dict[str, FulfillmentOrder] = field(default_factory=dict)
    fulfillments: dict[str, Fulfillment] = field(default_factory=dict)
    # idempotency key -> (fingerprint of the input, the payload first answered)
    idempotency: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every GraphQL body received
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    bucket: TokenBucket | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001), repr=False)
    _order_numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1001), repr=False
    )

    def __post_init__(self) -> None:
        if not self.locations:
            self.add_location("Shop location")
        if self.bucket is None:
            capacity, rate = PLAN_LIMITS[self.plan]
            self.bucket = TokenBucket(rate=rate, capacity=capacity)

    @property
    def domain(self) -> str:
        return f"{self.shop}.myshopify.com"

    @property
    def primary_location_id(self) -> str:
        return next(iter(self.locations))

    def new_id(self, kind: str) -> str:
        return f"gid://shopify/{kind}/{next(self._ids)}"

    def add_location(self, name: str) -> Location:
        location = Location(id=self.new_id("Location"), name=name)
        self.locations[location.id] = location
        return location

    # --- lookups used by tests ---------------------------------------------------------------

    def variant_by_sku(self, sku: str) -> Variant | None:
        return next((v for v in self.variants.values() if v.sku == sku), None)

    def available(self, sku: str, location_id: str | None = None) -> int | None:
        """The available quantity of ``sku`` at a location (the primary one by default)."""
        variant = self.variant_by_sku(sku)
        if variant is None:
            return None
        item = self.inventory_items[variant.inventory_item_id]
        return item.available.get(location_id or self.primary_location_id)

    def tax_of(self, amount: Decimal) -> Decimal:
        """The tax a line of ``amount`` (after discounts) carries: contained in it when the
        shop's prices include tax, added to it otherwise (Shopify's ``taxesIncluded``)."""
        if self.taxes_included:
            tax = amount * self.tax_rate / (1 + self.tax_rate)
        else:
            tax = amount * self.tax_rate
        return tax.quantize(Decimal("0.01"))

    # --- helpers that stand for what shoppers do --------------------------------------------

    def create_order(
        self,
        lines: list[tuple[str, int]] | list[tuple[str, int, Decimal]],
        *,
        email: str | None = "buyer@example.com",
        first_name: str = "Ada",
        last_name: str = "Lovelace",
        country_code: str = "NL",
        financial_status: str = "PAID",
        phone: str | None = None,
    ) -> Order:
        """Place an order for ``(sku, quantity[, unit price])`` lines the way checkout does:
        the order, one fulfillment order at the primary location, and stock taken."""
        with self.lock:
            order_lines: list[OrderLine] = []
            for entry in lines:
                sku, quantity = entry[0], entry[1]
                variant = self.variant_by_sku(sku)
                price = entry[2] if len(entry) > 2 else (variant.price if variant else Decimal(10))
                title = self.products[variant.product_id].title if variant else sku
                order_lines.append(
                    OrderLine(
                        id=self.new_id("LineItem"),
                        sku=sku,
                        title=title,
                        quantity=quantity,
                        unit_price=Decimal(price),
                        tax=self.tax_of(Decimal(price) * quantity),
                        tax_rate=float(self.tax_rate),
                        variant_id=variant.id if variant else None,
                    )
                )
                if variant is not None:
                    item = self.inventory_items[variant.inventory_item_id]
                    location = self.primary_location_id
                    item.available[location] = item.available.get(location, 0) - quantity
            address = Address(
                first_name=first_name,
                last_name=last_name,
                address1="Damrak 1",
                zip="1012 LG",
                city="Amsterdam",
                country="Netherlands",
                country_code=country_code,
                phone=phone,  # checkout asks for none unless the shop requires it
            )
            customer = Customer(self.new_id("Customer"), first_name, last_name, email)
            order = Order(
                id=self.new_id("Order"),
                number=next(self._order_numbers),
                currency=self.currency,
                lines=order_lines,
                email=email,
                customer=customer,
                shipping_address=address,
                billing_address=address,
                financial_status=financial_status,
            )
            self.orders[order.id] = order
            fulfillment_order = FulfillmentOrder(
                id=self.new_id("FulfillmentOrder"),
                order_id=order.id,
                location_id=self.primary_location_id,
                lines=[
                    FulfillmentOrderLine(
                        id=self.new_id("FulfillmentOrderLineItem"),
                        line_item_id=line.id,
                        total_quantity=line.quantity,
                        remaining_quantity=line.quantity,
                    )
                    for line in order_lines
                ],
            )
            self.fulfillment_orders[fulfillment_order.id] = fulfillment_order
            return order

    def cancel_order(self, order_id: str, reason: str = "CUSTOMER") -> Order:
        with self.lock:
            order = self.orders[order_id]
            order.cancelled_at = order.updated_at = now()
            order.cancel_reason = reason
            for fulfillment_order in self.fulfillment_orders.values():
                if fulfillment_order.order_id == order_id:
                    fulfillment_order.status = "CANCELLED"
            return order

    def touch_order(self, order_id: str) -> Order:
        """Mark an order changed (as an edit in the admin would): a new ``updated_at``."""
        with self.lock:
            order = self.orders[order_id]
            order.updated_at = now()
            return order
