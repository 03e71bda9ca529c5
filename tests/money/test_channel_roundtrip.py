"""The price a channel is sent is the price an order from that channel is booked at.

Hypothesis draws a base price and promotions; the real price resolution (``resolve_price``,
which every channel push, the API and the audit use) gives the effective price; the channel's
real outbound mapping turns it into what the platform is sent (Square's integer minor units,
bol.com's JSON number, WooCommerce's decimal string); a platform order echoing that price is
read by the channel's real order mapping, shaped by the inbox (``order_input``) and imported by
``orders.service.import_order`` into a real database of either kind; the booked unit price and
line total must equal the effective price.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channelhub.connectors.base import ChannelOrder, ChannelPrice
from channelhub.connectors.bol import mapping as bol
from channelhub.connectors.square import mapping as square
from channelhub.connectors.woocommerce import mapping as woo
from channelhub.core import money
from channelhub.core.database import Database
from channelhub.orders import service as orders
from channelhub.pricing.model import (
    PriceContext,
    PriceEntry,
    Promotion,
    PromotionKind,
    resolve_price,
)
from channelhub.sync.inbox import order_input
from tests.inventory.factories import make_world, stock

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
SKU = "MUG-1"
#: Examples per channel and database: each imports an order into a real database.
EXAMPLES = 15
_numbers = itertools.count(1)


def _via_square(price: Decimal, currency: str, quantity: int, order_id: str) -> ChannelOrder:
    variation = square.priced_variation(
        {"type": "ITEM_VARIATION", "id": "VAR-1", "item_variation_data": {"sku": SKU}},
        ChannelPrice(SKU, price, currency),
    )
    sent = variation["item_variation_data"]["price_money"]
    placed = {
        "id": order_id,
        "created_at": "2026-12-06T12:00:00Z",
        "state": "OPEN",
        "total_money": {"amount": sent["amount"] * quantity, "currency": sent["currency"]},
        "line_items": [
            {
                "uid": "L1",
                "catalog_object_id": "VAR-1",
                "quantity": str(quantity),
                "base_price_money": sent,
            }
        ],
    }
    found = square.channel_order(placed, {"VAR-1": SKU}, None, currency)
    assert found is not None
    return found


def _via_bol(price: Decimal, currency: str, quantity: int, order_id: str) -> ChannelOrder:
    sent = bol.pricing_body(price)["bundlePrices"][0]["unitPrice"]
    placed = {
        "orderId": order_id,
        "orderPlacedDateTime": "2026-12-06T12:00:00+01:00",
        "orderItems": [
            {
                "orderItemId": "1",
                "offer": {"reference": SKU},
                "quantity": quantity,
                "unitPrice": sent,
            }
        ],
    }
    return bol.order_from_bol(placed)


def _via_woocommerce(price: Decimal, currency: str, quantity: int, order_id: str) -> ChannelOrder:
    sent = woo.price_fields(ChannelPrice(SKU, price, currency))["regular_price"]
    line_total = woo.money(Decimal(sent) * quantity)
    placed = {
        "id": int(order_id.split("-")[-1]),
        "status": "processing",
        "currency": currency,
        "date_created_gmt": "2026-12-06T12:00:00",
        "line_items": [
            {
                "id": 1,
                "sku": SKU,
                "quantity": quantity,
                "price": sent,
                "subtotal": line_total,
                "total": line_total,
                "total_tax": "0.00",
            }
        ],
    }
    return woo.order_from_woo(placed)


Channel = Callable[[Decimal, str, int, str], ChannelOrder]
#: Each channel with the currencies it sells in (bol.com only in EUR).
CHANNELS: dict[str, tuple[Channel, tuple[str, ...]]] = {
    "square": (_via_square, ("EUR", "USD", "JPY", "KWD")),
    "bol": (_via_bol, ("EUR",)),
    "woocommerce": (_via_woocommerce, ("EUR", "USD", "JPY", "KWD")),
}


@st.composite
def priced(draw: Any, currencies: tuple[str, ...]) -> tuple[str, Decimal, list[Promotion]]:
    currency = draw(st.sampled_from(currencies))
    base = money.from_minor(draw(st.integers(1, 10**7)), currency)
    percents = draw(st.lists(st.integers(1, 9999).map(lambda n: Decimal(n).scaleb(-2)), max_size=3))
    stackable = draw(st.booleans())
    promotions = [
        Promotion(f"P{i}", PromotionKind.PERCENTAGE, p, is_stackable=stackable, priority=i)
        for i, p in enumerate(percents)
    ]
    if draw(st.booleans()):
        off = money.from_minor(draw(st.integers(0, 10**6)), currency)
        promotions.append(Promotion("FIX", PromotionKind.FIXED_AMOUNT, off, currency=currency))
    return currency, base, promotions


@pytest.fixture
def world(db: Database) -> Database:
    make_world(db)
    stock(db, "wh", MUG_1=1_000_000)
    return db


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_the_price_sent_is_the_price_booked(world: Database, channel: str) -> None:
    via, currencies = CHANNELS[channel]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(priced(currencies), st.integers(1, 5))
    def check(offer: tuple[str, Decimal, list[Promotion]], quantity: int) -> None:
        currency, base, promotions = offer
        entry = PriceEntry(SKU, currency, base)
        resolved = resolve_price(entry, PriceContext(SKU, "web", NOW), promotions)
        price = resolved.effective_price
        assert money.has_currency_digits(price, currency)
        external_id = f"{channel}-{next(_numbers)}"
        placed = via(price, currency, quantity, external_id)
        result = orders.import_order(world, order_input("web", placed), actor="test")
        assert result.order_id is not None, result
        booked = orders.find_order(world, "web", placed.external_id)
        (line,) = booked.lines
        assert line.unit_price == price
        assert booked.total == price * quantity

    check()
