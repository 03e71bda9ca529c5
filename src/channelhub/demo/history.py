"""Ninety days of the sample retailer's past orders, so that the dashboard's charts show trends
the first time it opens: every channel sells, a little more each week, more at weekends in the
stores. Deterministic (one seed) and idempotent: a day already seeded is left alone."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from channelhub.core.database import Database, utcnow
from channelhub.demo.load import _base_price, _sellable_skus
from channelhub.insight import rollup
from channelhub.inventory.model import MovementKind
from channelhub.inventory.service import PastMovement, record_past_movements
from channelhub.orders.history import PastOrder, record_past_orders
from channelhub.orders.model import (
    Customer,
    DeliveryMethod,
    LineInput,
    OrderInput,
    OrderStatus,
    PaymentStatus,
)

DAYS = 90
#: Orders a day per channel at the start of the 90 days (they grow by about half by the end).
DAILY = {
    "webshop": 9,
    "bol": 6,
    "amazon": 4,
    "app": 4,
    "store_amsterdam": 5,
    "store_rotterdam": 4,
}
MARKUP = {"bol": Decimal("1.05"), "amazon": Decimal("1.05")}
STORES = ("store_amsterdam", "store_rotterdam")


def seed_history(db: Database, days: int = DAYS, today: date | None = None) -> str:
    """Store ``days`` days of past orders up to yesterday; returns a one-line summary."""
    today = today or utcnow().date()
    skus = _sellable_skus()
    past = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        rng = random.Random(day.toordinal())  # the same orders for a day, whenever seeded
        growth = 1 + 0.5 * (days - back) / days
        weekend = day.weekday() >= 5
        for channel, base in DAILY.items():
            lift = 1.6 if weekend and channel in STORES else 1.0
            count = max(0, round(rng.gauss(base * growth * lift, base * 0.25)))
            for n in range(count):
                past.append(_past_order(rng, channel, day, n, skus))
    stored = record_past_orders(db, past, actor="demo:history")
    if stored:
        record_past_movements(db, _stock_history(past))
    rollup.refresh(db, rebuild=bool(stored))
    return f"{days} days of order history ({len(stored)} new past orders)"


#: Where each channel's past sales left from: a store's till its shelf, online the warehouse.
SOLD_FROM = {"store_amsterdam": "ams", "store_rotterdam": "rtm"}


def _stock_history(past: list[PastOrder]) -> list[PastMovement]:
    """The stock side of the history: each week's sales arrived as receipts on the Monday
    morning before them, and each sale took its units when it was placed. Receipts and sales
    cancel out, so today's stock is unchanged, while the ledger (and ``channelhub simulate``)
    sees how stock ran down through every week."""
    movements: list[PastMovement] = []
    weekly: dict[tuple[date, str, str], int] = {}
    for item in past:
        order = item.order
        if item.status == OrderStatus.CANCELLED or order.placed_at is None:
            continue
        location = SOLD_FROM.get(order.channel, "wh")
        day = order.placed_at.date()
        monday = day - timedelta(days=day.weekday())
        for line in order.lines:
            key = (monday, location, line.sku)
            weekly[key] = weekly.get(key, 0) + line.quantity
            movements.append(
                PastMovement(
                    order.placed_at,
                    location,
                    line.sku,
                    MovementKind.SALE,
                    -line.quantity,
                    f"history:{order.channel}:{order.external_id}",
                )
            )
    for (monday, location, sku), units in sorted(weekly.items()):
        movements.append(
            PastMovement(
                datetime.combine(monday, time(6), tzinfo=UTC),
                location,
                sku,
                MovementKind.RECEIPT,
                units,
                f"history:receipt:{monday.isoformat()}",
            )
        )
    return movements


def _past_order(rng: random.Random, channel: str, day: date, n: int, skus: list[str]) -> PastOrder:
    at = datetime.combine(day, time(9), tzinfo=UTC) + timedelta(minutes=rng.randrange(12 * 60))
    lines = []
    for sku in rng.sample(skus, 2 if rng.random() < 0.2 else 1):
        price = (_base_price(sku) * MARKUP.get(channel, Decimal(1))).quantize(Decimal("0.01"))
        if channel == "webshop" and sku.startswith("MUG"):
            price = (price * Decimal("0.8")).quantize(Decimal("0.01"))
        lines.append(LineInput(sku, 2 if rng.random() < 0.1 else 1, price))
    in_store = channel in STORES
    status = OrderStatus.COLLECTED if in_store else OrderStatus.DELIVERED
    if not in_store and rng.random() < 0.03:
        status = OrderStatus.CANCELLED
    order = OrderInput(
        channel=channel,
        external_id=f"HIST-{channel.upper()}-{day:%Y%m%d}-{n:03d}",
        currency="EUR",
        lines=tuple(lines),
        # Anonymous: resolving thousands of past buyers would take minutes, and an order that
        # names a customer must be linked to a profile (the audit checks it).
        customer=Customer(),
        delivery_method=DeliveryMethod.IN_STORE if in_store else DeliveryMethod.SHIP,
        payment_status=PaymentStatus.PAID,
        placed_at=at,
    )
    return PastOrder(order, status)
