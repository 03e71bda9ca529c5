"""Order use cases on both databases: idempotent import, routing, the state machine, shipments,
cancellation, returns anywhere, sales beyond stock, and the events each change writes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.core.errors import Conflict
from channelhub.core.events import outbox
from channelhub.inventory import service as inventory
from channelhub.orders import fulfilment, service
from channelhub.orders.fulfilment import ReturnItem
from channelhub.orders.model import DeliveryMethod, OrderStatus, PaymentStatus, ReturnCondition
from tests.factories import mug, save
from tests.inventory.factories import add_channel, make_world, stock
from tests.orders.factories import order

S = OrderStatus


def status_events(db: Database, key: str) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.payload)
            .where(outbox.c.topic == "orders.status_changed", outbox.c.key == key)
            .order_by(outbox.c.id)
        )
        return [p["to"] for (p,) in rows]


def sellable(db: Database, sku: str) -> dict[str, int]:
    return {r.location: r.sellable for r in inventory.stock_levels(db, sku) if r.pool == ""}


def test_the_same_order_twice_is_one_order(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    first = service.import_order(db, order("W-1", ("MUG-1", 2)))
    again = service.import_order(db, order("W-1", ("MUG-1", 2)))
    assert (first.outcome, again.outcome) == ("created", "unchanged")
    assert first.order_id == again.order_id and first.status == "routed"
    assert sellable(db, "MUG-1") == {"wh": 3}
    assert status_events(db, "web:W-1") == ["received", "reserved", "routed"]
    # the same external id on another channel is another order
    assert service.import_order(db, order("W-1", ("MUG-1", 1), channel="bol")).outcome == "created"


def test_an_updated_order_updates_and_re_reserves(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    created = service.import_order(db, order("W-1", ("MUG-1", 2)))
    updated = service.import_order(db, order("W-1", ("MUG-1", 4)))
    assert updated.outcome == "updated" and updated.order_id == created.order_id
    assert sellable(db, "MUG-1") == {"wh": 1}
    paid = replace(order("W-1", ("MUG-1", 4)), payment_status=PaymentStatus.PAID)
    assert service.import_order(db, paid).outcome == "updated"
    assert service.get_order(db, created.order_id or 0).payment_status == "paid"
    assert inventory.check_ledger(db) == []


def test_a_batch_imports_each_order_on_what_the_previous_left(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=3)
    batch = [order(f"B-{i}", ("MUG-1", 1)) for i in range(5)]
    batch.append(replace(order("BAD", ("MUG-1", 1)), channel="nope"))
    results = service.import_orders(db, batch, "test")
    assert [r.status for r in results[:5]] == ["routed"] * 3 + ["backordered"] * 2
    assert results[5].outcome == "rejected"
    assert inventory.check_ledger(db) == []


def test_short_orders_follow_the_channel_policy_and_backorders_retry(db: Database) -> None:
    make_world(db)
    inventory.set_channel_settings(
        db, "bol", inventory.ChannelStockSettings(shortage_policy=inventory.ShortagePolicy.REJECT)
    )
    assert service.import_order(db, order("W-1", ("MUG-1", 1))).status == "backordered"
    assert service.import_order(db, order("B-1", ("MUG-1", 1), channel="bol")).status == "rejected"
    stock(db, "ams", MUG_1=1)
    assert service.retry_backorders(db, "test") == 1
    view = service.find_order(db, "web", "W-1")
    assert view.status == S.ROUTED and view.reservations[0].location == "ams"


def test_click_and_collect_reserves_at_the_pickup_store_first(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=10)
    stock(db, "rtm", MUG_1=1)
    result = service.import_order(
        db, order("C-1", ("MUG-1", 1), method=DeliveryMethod.PICKUP, pickup="rtm")
    )
    view = service.get_order(db, result.order_id or 0)
    assert [r.location for r in view.reservations] == ["rtm"]
    view = fulfilment.transition(db, view.id, S.READY_FOR_PICKUP, "test")
    view = fulfilment.transition(db, view.id, S.COLLECTED, "test")
    assert view.lines[0].shipped == 1 and sellable(db, "MUG-1")["rtm"] == 0


def test_a_split_order_ships_partially_then_fully(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=1)
    stock(db, "ams", MUG_1=2)
    result = service.import_order(db, order("S-1", ("MUG-1", 3)))
    view = service.get_order(db, result.order_id or 0)
    assert sorted((r.location, r.quantity) for r in view.reservations) == [("ams", 2), ("wh", 1)]
    view = fulfilment.transition(db, view.id, S.PICKING, "test")
    view = fulfilment.ship(db, view.id, "test", location="wh", tracking="T1")
    assert view.status == S.PARTIALLY_SHIPPED and view.lines[0].shipped == 1
    view = fulfilment.ship(db, view.id, "test", tracking="T2")
    assert view.status == S.SHIPPED and len(view.shipments) == 2
    stock_now = {r.location: (r.on_hand, r.reserved) for r in inventory.stock_levels(db, "MUG-1")}
    assert stock_now == {"wh": (0, 0), "ams": (0, 0)}
    assert inventory.check_ledger(db) == []


def test_cancelling_releases_the_stock_and_cannot_happen_after_shipping(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=2)
    first = service.import_order(db, order("X-1", ("MUG-1", 2)))
    view = fulfilment.cancel(db, first.order_id or 0, "test", "customer changed their mind")
    assert view.status == S.CANCELLED and sellable(db, "MUG-1") == {"wh": 2}
    assert status_events(db, "web:X-1")[-1] == "cancelled"
    second = service.import_order(db, order("X-2", ("MUG-1", 1)))
    fulfilment.ship(db, second.order_id or 0, "test")
    with pytest.raises(Conflict):
        fulfilment.cancel(db, second.order_id or 0, "test")
    # a channel cancelling its order by re-sending it cancelled
    third = service.import_order(db, order("X-3", ("MUG-1", 1)))
    cancelled = replace(order("X-3", ("MUG-1", 1)), cancelled=True)
    assert service.import_order(db, cancelled).status == "cancelled"
    assert service.get_order(db, third.order_id or 0).status == S.CANCELLED
    assert inventory.check_ledger(db) == []


def test_an_online_order_is_returned_at_a_store_and_restocked_or_written_off(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=3)
    result = service.import_order(db, order("R-1", ("MUG-1", 3), channel="bol", price="10.00"))
    fulfilment.ship(db, result.order_id or 0, "test")
    fulfilment.transition(db, result.order_id or 0, S.DELIVERED, "test")
    items = [ReturnItem(1, 2), ReturnItem(1, 1, ReturnCondition.DAMAGED)]
    view = fulfilment.return_items(db, result.order_id or 0, "ams", items, "test")
    assert view.status == S.RETURNED and view.refunded == Decimal("30.00")
    assert view.payment_status == "refunded"
    assert sellable(db, "MUG-1") == {"wh": 0, "ams": 2, "damaged": 1}
    with pytest.raises(Conflict):
        fulfilment.return_items(db, result.order_id or 0, "ams", [ReturnItem(1, 1)], "test")


def test_a_till_sale_is_accepted_beyond_stock_and_flagged(db: Database) -> None:
    make_world(db)
    result = service.import_order(
        db,
        order("T-1", ("UNKNOWN-9", 2), channel="pos", method=DeliveryMethod.IN_STORE, pickup="ams"),
    )
    assert result.status == "collected"
    assert {(r.location, r.on_hand) for r in inventory.stock_levels(db, "UNKNOWN-9")} == {
        ("ams", -2)
    }
    kinds = {a.kind for a in inventory.list_alerts(db)}
    assert kinds == {"negative_stock", "unknown_sku"}
    assert inventory.check_ledger(db) == []


def test_a_paid_marketplace_order_is_reserved_even_when_stock_is_short(db: Database) -> None:
    make_world(db)
    save(db, mug("MUG-1"))  # a catalog product: only the oversale is flagged
    stock(db, "wh", MUG_1=1)
    add_channel(db, "amazon", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED)
    inventory.link_channel(db, "amazon", [inventory.ChannelLink("wh")])
    result = service.import_order(db, order("A-1", ("MUG-1", 3), channel="amazon", paid=True))
    assert result.status == "routed"
    view = service.get_order(db, result.order_id or 0)
    assert view.flagged is not None and "2 x MUG-1" in view.flagged
    assert [a.kind for a in inventory.list_alerts(db)] == ["oversold"]
    assert inventory.available(db, "web", ["MUG-1"]) == {"MUG-1": 0}
    assert inventory.check_ledger(db) == []


def test_impossible_transitions_are_refused(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=1)
    result = service.import_order(db, order("I-1", ("MUG-1", 1)))
    with pytest.raises(Conflict):
        fulfilment.transition(db, result.order_id or 0, S.DELIVERED, "test")
    with pytest.raises(Conflict):
        fulfilment.transition(db, result.order_id or 0, S.READY_FOR_PICKUP, "test")
