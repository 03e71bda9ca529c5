"""Orders that were completed before the hub knew of them: a migration's back catalogue, or the
demo's seeded history. They are stored as they ended (delivered, collected, cancelled), with
their lines and one history step each, and nothing else: no reservation, no stock movement, no
event for the channels, which settled them long ago. Analytics and the dashboard count them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select

from channelhub.catalog.store import channels
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput
from channelhub.orders import store
from channelhub.orders.model import OrderInput, OrderStatus, as_record, line_total
from channelhub.orders.service import to_minor

#: The states a past order may end in.
FINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.COLLECTED, OrderStatus.CANCELLED})


@dataclass(frozen=True)
class PastOrder:
    order: OrderInput  # placed_at is required: when it was placed
    status: OrderStatus = OrderStatus.DELIVERED


def record_past_orders(db: Database, past: Sequence[PastOrder], actor: str) -> list[int]:
    """Store completed orders in one transaction (a few statements, whatever their number);
    those whose (channel, external id) the hub already holds are left alone. Returns the ids
    of those stored."""
    for item in past:
        if item.status not in FINAL:
            raise InvalidInput(f"past order {item.order.external_id}: {item.status} is not final")
        if item.order.placed_at is None:
            raise InvalidInput(f"past order {item.order.external_id}: placed_at is required")
    if not past:
        return []
    now = utcnow()
    o = store.orders.c
    with db.transaction() as conn:
        channel_ids: dict[str, int] = {
            row.code: row.id for row in conn.execute(select(channels.c.code, channels.c.id))
        }
        unknown = sorted({p.order.channel for p in past} - set(channel_ids))
        if unknown:
            raise InvalidInput(f"past orders name unknown channels: {', '.join(unknown)}")
        held = {
            (channel_id, external_id)
            for channel_id, external_id in conn.execute(
                select(o.channel_id, o.external_id).where(
                    o.external_id.in_(sorted({p.order.external_id for p in past}))
                )
            )
        }
        fresh = [p for p in past if (channel_ids[p.order.channel], p.order.external_id) not in held]
        if not fresh:
            return []
        rows = []
        for item in fresh:
            order = item.order
            total = sum((line_total(line) for line in order.lines), Decimal(0))
            rows.append(
                {
                    "channel_id": channel_ids[order.channel],
                    "external_id": order.external_id,
                    "status": item.status.value,
                    "delivery_method": order.delivery_method.value,
                    "pickup_location_id": None,
                    "payment_status": order.payment_status.value,
                    "currency": order.currency,
                    "total_minor": to_minor(total, order.currency),
                    "refunded_minor": 0,
                    "customer": as_record(order.customer),
                    "billing_address": as_record(order.billing_address),
                    "shipping_address": as_record(order.shipping_address),
                    "notes": dict(order.notes),
                    "fingerprint": order.fingerprint(),
                    "lines_fingerprint": order.lines_fingerprint(),
                    "flagged": None,
                    "placed_at": order.placed_at,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = {
            (r.channel_id, r.external_id): r.id
            for r in conn.execute(
                insert(store.orders).returning(o.id, o.channel_id, o.external_id), rows
            )
        }
        lines = []
        steps = []
        for item in fresh:
            order = item.order
            order_id = ids[(channel_ids[order.channel], order.external_id)]
            done = 0 if item.status == OrderStatus.CANCELLED else 1
            lines += [
                {
                    "order_id": order_id,
                    "line_no": n,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price_minor": to_minor(line.unit_price, order.currency),
                    "discount_minor": to_minor(line.discount, order.currency),
                    "tax_minor": to_minor(line.tax, order.currency),
                    "shipped": line.quantity * done,
                    "returned": 0,
                    "cancelled": line.quantity * (1 - done),
                    "external_line_id": line.external_line_id,
                }
                for n, line in enumerate(order.lines, start=1)
            ]
            steps.append(
                {
                    "order_id": order_id,
                    "from_status": None,
                    "to_status": item.status.value,
                    "note": "recorded as a past order",
                    "actor": actor,
                    "created_at": order.placed_at,
                }
            )
        conn.execute(insert(store.order_lines), lines)
        conn.execute(insert(store.order_history), steps)
    return sorted(ids.values())
