"""What an order means for the customer journeys, booked once per order: loyalty points,
the customer's bought products, and the co-occurrence counts recommendations read.

Counting is incremental: one order adds to the counts, nothing is recomputed from scratch.
"bought together" counts the orders that hold both SKUs; "also bought" counts the customers
who bought both, in any orders on any channels (a SKU new to the customer pairs with every
SKU they bought before and with the other new ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import combinations, permutations
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.customers.journeys import loyalty, profiles, store
from channelhub.orders.model import DeliveryMethod, OrderStatus
from channelhub.orders.service import OrderView, load_order, to_minor

TOGETHER = "together"
ALSO = "also"
#: Orders that earn nothing: they never became a sale.
NOT_SOLD = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})


def _units(view: OrderView) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in view.lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def record_order(conn: Connection, order_id: int) -> bool:
    """Count a new order once: its pairs, its store's popularity and, when it is linked to a
    customer, their points and products. Whether it was new here."""
    view = load_order(conn, order_id)
    store_code = (
        view.pickup_location
        if view.delivery_method in (DeliveryMethod.IN_STORE, DeliveryMethod.PICKUP)
        else None
    )
    profile_id = profiles.order_profile(conn, order_id)
    fresh = store.insert_new(
        conn,
        store.journey_orders,
        [
            {
                "order_id": order_id,
                "profile_id": None,
                "channel": view.channel,
                "location": store_code,
                "currency": view.currency,
                "total_minor": to_minor(view.total, view.currency),
                "placed_at": view.placed_at,
            }
        ],
        ["order_id"],
    )
    if not fresh:
        return False
    units = _units(view)
    skus = sorted(units)
    store.add_counts(
        conn,
        store.product_pairs,
        [
            {"kind": TOGETHER, "sku": a, "other_sku": b, "count": 1}
            for a, b in permutations(skus, 2)
        ],
        ["kind", "sku", "other_sku"],
        ["count"],
    )
    if store_code:
        store.add_counts(
            conn,
            store.store_popularity,
            [
                {"location": store_code, "sku": sku, "units": qty, "orders_count": 1}
                for sku, qty in units.items()
            ],
            ["location", "sku"],
            ["units", "orders_count"],
        )
    if profile_id is not None:
        attach_customer(conn, view, profile_id)
    return True


def attach_customer(conn: Connection, view: OrderView, profile_id: int) -> None:
    """Book an order's customer side: points by its channel's rule, bought products and the
    "also bought" pairs they add."""
    survivor = profiles.current(conn, profile_id)
    ids = profiles.members(conn, survivor)
    conn.execute(
        update(store.journey_orders)
        .where(store.journey_orders.c.order_id == view.id)
        .values(profile_id=survivor)
    )
    if view.status not in NOT_SOLD:
        loyalty.earn_for_order(conn, survivor, view.id, view.channel, view.total)
    units = _units(view)
    pp = store.profile_products.c
    before = set(conn.execute(select(pp.sku).where(pp.profile_id.in_(ids)).distinct()).scalars())
    _add_products(conn, survivor, units, view.placed_at)
    new = sorted(set(units) - before)
    pairs: set[tuple[str, str]] = set()
    for sku in new:
        for old in before:
            pairs.update({(sku, old), (old, sku)})
    for a, b in combinations(new, 2):
        pairs.update({(a, b), (b, a)})
    store.add_counts(
        conn,
        store.product_pairs,
        [{"kind": ALSO, "sku": a, "other_sku": b, "count": 1} for a, b in sorted(pairs)],
        ["kind", "sku", "other_sku"],
        ["count"],
    )


def _add_products(conn: Connection, profile_id: int, units: dict[str, int], at: datetime) -> None:
    if not units:
        return
    table = store.profile_products
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["profile_id", "sku"],
            set_={
                "units": table.c.units + statement.excluded.units,
                "orders_count": table.c.orders_count + 1,
                "last_bought_at": statement.excluded.last_bought_at,
            },
        ),
        [
            {"profile_id": profile_id, "sku": sku, "units": qty, "orders_count": 1,
             "last_bought_at": at}
            for sku, qty in sorted(units.items())
        ],
    )  # fmt: skip


def catch_up_links(conn: Connection, limit: int = 500) -> int:
    """Book the customer side of orders counted before identity resolution linked them."""
    from channelhub.customers.store import customer_order_links as links

    jo = store.journey_orders.c
    rows = conn.execute(
        select(jo.order_id, links.c.profile_id)
        .join_from(store.journey_orders, links, links.c.order_id == jo.order_id)
        .where(jo.profile_id.is_(None))
        .order_by(jo.order_id)
        .limit(limit)
    ).all()
    for order_id, profile_id in rows:
        attach_customer(conn, load_order(conn, order_id), int(profile_id))
    return len(rows)


def cancel_order(conn: Connection, order_id: int) -> int:
    """An order that never became a sale gives its points back; the points reversed."""
    view = load_order(conn, order_id)
    total = to_minor(view.total, view.currency)
    return loyalty.reverse_for_order(
        conn, order_id, total, total, f"cancel:order:{order_id}", f"order {order_id} cancelled"
    )


def return_order(conn: Connection, order_id: int, event_id: int) -> int:
    """A return takes back the share of the order's points its refunds stand for."""
    view = load_order(conn, order_id)
    return loyalty.reverse_for_order(
        conn,
        order_id,
        to_minor(view.refunded, view.currency),
        to_minor(view.total, view.currency),
        f"return:order:{order_id}:{event_id}",
        f"return on order {order_id}: {view.refunded} {view.currency} refunded in all",
    )


def bought_by(conn: Connection, profile_ids: Sequence[int]) -> dict[str, int]:
    """SKU -> units the customer bought (all their profile ids)."""
    pp = store.profile_products.c
    found: dict[str, int] = {}
    for sku, units in conn.execute(
        select(pp.sku, pp.units).where(pp.profile_id.in_(list(profile_ids)))
    ):
        found[sku] = found.get(sku, 0) + int(units)
    return found


def orders_counted(conn: Connection, profile_ids: Sequence[int]) -> list[Any]:
    jo = store.journey_orders.c
    return list(
        conn.execute(
            select(store.journey_orders)
            .where(jo.profile_id.in_(list(profile_ids)))
            .order_by(jo.placed_at)
        )
    )
