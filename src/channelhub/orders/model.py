"""The normalized order every channel's orders become, and its state machine. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from channelhub.core import money


class OrderStatus(StrEnum):
    RECEIVED = "received"
    RESERVED = "reserved"
    BACKORDERED = "backordered"
    REJECTED = "rejected"
    ROUTED = "routed"
    PICKING = "picking"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    COLLECTED = "collected"
    CANCELLED = "cancelled"
    RETURNED = "returned"


S = OrderStatus

#: Which status may follow which. Cancellation is possible until goods leave the building.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.RECEIVED: frozenset({S.RESERVED, S.BACKORDERED, S.REJECTED, S.COLLECTED, S.CANCELLED}),
    S.BACKORDERED: frozenset({S.RESERVED, S.REJECTED, S.CANCELLED}),
    S.RESERVED: frozenset({S.ROUTED, S.CANCELLED}),
    S.ROUTED: frozenset(
        {S.PICKING, S.PARTIALLY_SHIPPED, S.SHIPPED, S.READY_FOR_PICKUP, S.CANCELLED}
    ),
    S.PICKING: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.READY_FOR_PICKUP, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.READY_FOR_PICKUP: frozenset({S.COLLECTED, S.CANCELLED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.COLLECTED: frozenset({S.RETURNED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}

#: Statuses in which the order's goods have left (or are with) the customer: returnable.
HANDED_OVER = frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.COLLECTED})

#: Statuses in which the lines may still change on re-import.
EDITABLE = frozenset({S.RECEIVED, S.RESERVED, S.BACKORDERED, S.ROUTED})


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


class DeliveryMethod(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"  # click and collect at a store
    IN_STORE = "in_store"  # a till sale: the customer already has the goods


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class ReturnCondition(StrEnum):
    RESELLABLE = "resellable"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class Customer:
    email: str = ""
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PostalAddress:
    name: str = ""
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal(0)  # for the whole line
    tax: Decimal = Decimal(0)  # for the whole line
    #: The channel's own id of the line, which shipments and cancellations must name.
    external_line_id: str | None = None


@dataclass(frozen=True)
class OrderInput:
    """An order as a channel sent it, mapped to the hub's shape."""

    channel: str
    external_id: str
    currency: str
    lines: tuple[LineInput, ...]
    customer: Customer = Customer()
    billing_address: PostalAddress = PostalAddress()
    shipping_address: PostalAddress = PostalAddress()
    delivery_method: DeliveryMethod = DeliveryMethod.SHIP
    pickup_location: str | None = None
    payment_status: PaymentStatus = PaymentStatus.PENDING
    placed_at: datetime | None = None
    cancelled: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of everything but the placement time: the same digest, nothing changed."""
        data = (
            self.channel,
            self.external_id,
            self.currency,
            self._lines_key(),
            sorted(vars(self.customer).items()),
            sorted(vars(self.billing_address).items()),
            sorted(vars(self.shipping_address).items()),
            self.delivery_method.value,
            self.pickup_location,
            self.payment_status.value,
            self.cancelled,
            sorted(self.notes.items()),
        )
        return hashlib.sha256(repr(data).encode()).hexdigest()

    def lines_fingerprint(self) -> str:
        return hashlib.sha256(repr(self._lines_key()).encode()).hexdigest()

    def _lines_key(self) -> tuple[tuple[str, int, str, str, str], ...]:
        return tuple(
            (line.sku, line.quantity, str(line.unit_price), str(line.discount), str(line.tax))
            for line in self.lines
        )


def as_record(value: Customer | PostalAddress) -> dict[str, Any]:
    """A customer or address as a plain dict for storage."""
    return dict(vars(value))


def order_problems(order: OrderInput) -> list[tuple[str, str]]:
    """What is wrong with an order, as (where, why) pairs; empty when it can be imported."""
    problems: list[tuple[str, str]] = []
    if not order.external_id or len(order.external_id) > 200:
        problems.append(("external_id", "an external order id is 1 to 200 characters"))
    if not order.lines:
        problems.append(("lines", "an order has at least one line"))
    if len(order.lines) > 1000:
        problems.append(("lines", "an order has at most 1,000 lines"))
    for i, line in enumerate(order.lines):
        if not line.sku or len(line.sku) > 100 or "\x00" in line.sku:
            problems.append((f"lines[{i}].sku", "a SKU is 1 to 100 characters"))
        if not 0 < line.quantity <= 100_000:
            problems.append((f"lines[{i}].quantity", "a quantity is 1 to 100,000"))
        for name in ("unit_price", "discount", "tax"):
            amount: Decimal = getattr(line, name)
            if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
                problems.append((f"lines[{i}].{name}", "an amount is 0 or more and finite"))
        price = line.unit_price * line.quantity
        if price.is_finite() and line.discount.is_finite() and line.discount > price:
            # a line (and so an order) would be worth less than nothing: refunds are returns
            problems.append(
                (f"lines[{i}].discount", f"the discount {line.discount} is more than {price}")
            )
    if order.delivery_method != DeliveryMethod.SHIP and not order.pickup_location:
        problems.append(("pickup_location", f"a {order.delivery_method.value} order names a store"))
    return problems


def amount_precision_problems(order: OrderInput) -> list[tuple[str, str]]:
    """Amounts with more decimals than the order's currency has (100.125 JPY, 9.995 EUR), as
    (where, why) pairs. Checked where a client *gives* an order (the API): rounding them would
    book another amount than the one sent. An order a channel already took is booked as it
    came, rounded by the one money rule (``channelhub.core.money``)."""
    if not money.is_known_currency(order.currency):
        return []  # order_problems and the import name the currency itself
    digits = money.currency_digits(order.currency)
    problems: list[tuple[str, str]] = []
    for i, line in enumerate(order.lines):
        for name in ("unit_price", "discount", "tax"):
            amount: Decimal = getattr(line, name)
            if amount.is_finite() and not money.has_currency_digits(amount, order.currency):
                problems.append(
                    (
                        f"lines[{i}].{name}",
                        f"{amount} has more decimals than {order.currency} allows ({digits})",
                    )
                )
    return problems


def is_sale_already_made(order: OrderInput, channel_kind: str) -> bool:
    """A till sale, or a marketplace order already paid: accept it even if stock is short."""
    if order.delivery_method == DeliveryMethod.IN_STORE:
        return True
    return channel_kind == "marketplace" and order.payment_status == PaymentStatus.PAID


def line_total(line: LineInput) -> Decimal:
    return line.unit_price * line.quantity - line.discount + line.tax


def refund_for(line: LineInput, quantity: int) -> Decimal:
    """The share of a line's total that ``quantity`` of its units are worth."""
    if line.quantity == 0:
        return Decimal(0)
    return line_total(line) * quantity / line.quantity
