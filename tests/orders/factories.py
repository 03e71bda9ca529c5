"""Factories for order tests: normalized orders as a channel would send them."""

from __future__ import annotations

from decimal import Decimal

from channelhub.orders.model import (
    Customer,
    DeliveryMethod,
    LineInput,
    OrderInput,
    PaymentStatus,
    PostalAddress,
)

NEAR_AMSTERDAM = PostalAddress(
    "Ann", "Prinsengracht 2", "", "1015 DV", "Amsterdam", "NL", 52.37, 4.88
)


def order(
    external_id: str,
    *lines: tuple[str, int],
    channel: str = "web",
    method: DeliveryMethod = DeliveryMethod.SHIP,
    pickup: str | None = None,
    paid: bool = False,
    price: str = "9.95",
    address: PostalAddress = NEAR_AMSTERDAM,
) -> OrderInput:
    return OrderInput(
        channel=channel,
        external_id=external_id,
        currency="EUR",
        lines=tuple(LineInput(sku, qty, Decimal(price)) for sku, qty in lines),
        customer=Customer("ann@example.com", "Ann"),
        shipping_address=address,
        billing_address=address,
        delivery_method=method,
        pickup_location=pickup,
        payment_status=PaymentStatus.PAID if paid else PaymentStatus.PENDING,
    )
