"""Checkout: a cart becomes an order through the order pipeline, priced by pricing's one
resolution function at the customer's best price (their segments included).

The cart's holds become the order's reservations in one transaction: the holds are released
inside the order's own transaction, just before it reserves (or, at a till, sells) the same
units, so no other order can take them in between. The order's external id is
``cart-<token>`` on the checkout channel, so a retried checkout is the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from channelhub.core.database import Database
from channelhub.core.errors import Conflict, NotFound, ProblemList
from channelhub.customers.journeys import carts, holds, segments
from channelhub.customers.store import customer_profiles
from channelhub.orders import service as orders
from channelhub.orders.model import (
    Customer,
    DeliveryMethod,
    LineInput,
    OrderInput,
    PaymentStatus,
    PostalAddress,
)
from channelhub.pricing import service as pricing


@dataclass(frozen=True)
class CheckoutResult:
    cart: carts.Cart
    order_id: int
    order_status: str
    total: Decimal


@dataclass(frozen=True)
class CheckoutRequest:
    channel: str
    delivery_method: DeliveryMethod = DeliveryMethod.SHIP
    pickup_location: str | None = None  # a till sale or pickup: the store (else the cart's)
    customer: Customer | None = None  # else the customer's golden record
    shipping_address: PostalAddress = field(default_factory=PostalAddress)
    payment_status: PaymentStatus = PaymentStatus.PENDING


def _golden_customer(db: Database, profile_id: int | None) -> Customer:
    if profile_id is None:
        return Customer()
    with db.read() as conn:
        golden: dict[str, Any] = (
            conn.execute(
                select(customer_profiles.c.golden).where(customer_profiles.c.id == profile_id)
            ).scalar()
            or {}
        )

    def value(name: str) -> str:
        found = golden.get(name) or {}
        return str(found.get("value") or "") if isinstance(found, dict) else ""

    name = " ".join(v for v in (value("first_name"), value("last_name")) if v)
    return Customer(email=value("email"), name=name, phone=value("phone"))


def checkout(db: Database, token: str, request: CheckoutRequest) -> CheckoutResult:
    """Turn the cart into an order on ``request.channel`` (the web, the app, a store's till)."""
    cart = carts.get_cart(db, token)
    if cart.status == carts.CHECKED_OUT:
        raise Conflict(f"cart {token} was checked out already as order {cart.order_id}")
    if cart.status != carts.ACTIVE:
        raise Conflict(f"cart {token} is {cart.status}")
    if not cart.lines:
        raise Conflict(f"cart {token} is empty")
    lines: list[LineInput] = []
    problems = ProblemList()
    currency = ""
    for i, line in enumerate(cart.lines):
        try:
            if cart.profile_id is not None:
                price = segments.price_for_customer(db, cart.profile_id, line.sku, request.channel)
            else:
                price = pricing.resolve(db, line.sku, request.channel)
        except NotFound as error:
            problems.add(f"lines[{i}]", error.detail)
            continue
        currency = price.currency
        lines.append(LineInput(line.sku, line.quantity, price.effective_price))
    problems.raise_if_any(f"cart {token} cannot be checked out")
    pickup = request.pickup_location
    if request.delivery_method != DeliveryMethod.SHIP and pickup is None:
        pickup = cart.location
    order = OrderInput(
        channel=request.channel,
        external_id=f"cart-{token}",
        currency=currency,
        lines=tuple(lines),
        customer=request.customer or _golden_customer(db, cart.profile_id),
        shipping_address=request.shipping_address,
        billing_address=request.shipping_address,
        delivery_method=request.delivery_method,
        pickup_location=pickup,
        payment_status=request.payment_status,
        notes={"cart": token},
    )
    result = orders.import_order(
        db, order, actor=f"cart {token}", first=lambda conn: holds.release_all_in(conn, token)
    )
    assert result.order_id is not None
    carts.mark_checked_out(db, token, result.order_id)
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    return CheckoutResult(carts.get_cart(db, token), result.order_id, result.status or "", total)
