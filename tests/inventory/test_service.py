"""Inventory use cases on both databases: ledger, counts, transfers, pools, carts, alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput
from channelhub.core.events import outbox
from channelhub.inventory import reserving, service
from channelhub.inventory.service import ChangeKind, ChannelLink, StockChange
from tests.inventory.factories import add_channel, make_world, stock


def levels(db: Database, sku: str) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.location, r.pool): (r.on_hand, r.reserved) for r in service.stock_levels(db, sku)}


def atp_events(db: Database) -> list[str]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(outbox.c.key).where(outbox.c.topic == "inventory.atp_changed")
            ).scalars()
        )


def test_receipts_and_counts_keep_on_hand_equal_to_the_ledger(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=10)
    service.change_stock(db, ChangeKind.ADJUSTMENT, [StockChange("MUG-1", "wh", -3)], "test")
    service.change_stock(db, ChangeKind.COUNT, [StockChange("MUG-1", "wh", 4)], "test")
    assert levels(db, "MUG-1") == {("wh", ""): (4, 0)}
    assert service.check_ledger(db) == []
    kinds = [e.kind for e in service.movements(db, "MUG-1")[0]]
    assert kinds == ["receipt", "adjustment", "count"]
    assert "MUG-1" in atp_events(db)


def test_a_batch_with_the_same_key_is_applied_once(db: Database) -> None:
    make_world(db)
    batch = [StockChange("MUG-1", "wh", 5), StockChange("MUG-2", "ams", 2)]
    first = service.change_stock(db, ChangeKind.RECEIPT, batch, "test", key="delivery-42")
    again = service.change_stock(db, ChangeKind.RECEIPT, batch, "test", key="delivery-42")
    assert not first.replayed and again.replayed
    assert levels(db, "MUG-1") == {("wh", ""): (5, 0)}


def test_a_stock_csv_is_parsed_and_its_errors_named() -> None:
    changes = service.parse_stock_csv("sku,location,quantity\nMUG-1,wh,3\nMUG-2,ams,7\n")
    assert [(c.sku, c.quantity) for c in changes] == [("MUG-1", 3), ("MUG-2", 7)]
    with pytest.raises(InvalidInput) as caught:
        service.parse_stock_csv("sku,location,quantity\nMUG-1,wh,three\n")
    assert caught.value.problems[0].location == "line 2"


def test_a_transfer_moves_only_sellable_units(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    service.set_safety_stock(db, "wh", 2)
    with pytest.raises(Conflict):
        service.transfer_stock(db, "MUG-1", "wh", "ams", 4, "test")
    service.transfer_stock(db, "MUG-1", "wh", "ams", 3, "test")
    assert levels(db, "MUG-1") == {("wh", ""): (2, 0), ("ams", ""): (3, 0)}
    assert service.check_ledger(db) == []


def test_atp_subtracts_safety_stock_and_the_channel_buffer(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=10)
    stock(db, "ams", MUG_1=4)
    service.set_safety_stock(db, "ams", 1)
    service.set_channel_settings(db, "bol", service.ChannelStockSettings(buffer=3))
    assert service.available(db, "web", ["MUG-1"]) == {"MUG-1": 13}
    assert service.available(db, "bol", ["MUG-1"]) == {"MUG-1": 10}
    assert service.available(db, "pos", ["MUG-1"]) == {"MUG-1": 3}  # pos: stores only


def test_an_independent_channel_sells_only_its_own_pool(db: Database) -> None:
    make_world(db)
    add_channel(db, "amazon", ChannelKind.MARKETPLACE, ChannelMode.INDEPENDENT)
    service.link_channel(db, "amazon", [ChannelLink("wh", allocation_share=0.25)])
    stock(db, "wh", MUG_1=20)
    assert service.available(db, "amazon", ["MUG-1"]) == {"MUG-1": 0}
    assert service.apply_allocation_shares(db, "amazon", "test") == 1
    assert service.available(db, "amazon", ["MUG-1"]) == {"MUG-1": 5}
    assert service.available(db, "web", ["MUG-1"]) == {"MUG-1": 15}
    service.allocate_to_channel(db, "amazon", "wh", "MUG-1", -2, "test")
    assert service.available(db, "amazon", ["MUG-1"]) == {"MUG-1": 3}
    assert service.check_ledger(db) == []


def test_allocation_shares_are_refused_for_integrated_channels(db: Database) -> None:
    make_world(db)
    with pytest.raises(InvalidInput):
        service.link_channel(db, "web", [ChannelLink("wh", allocation_share=0.5)])


def test_cart_holds_expire_and_give_the_units_back(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=3)
    holds = reserving.reserve_for_cart(db, "web", "cart-1", "MUG-1", 2, ttl_seconds=60)
    assert [(h.location, h.quantity) for h in holds] == [("wh", 2)]
    assert service.available(db, "web", ["MUG-1"]) == {"MUG-1": 1}
    with pytest.raises(Conflict):
        reserving.reserve_for_cart(db, "web", "cart-2", "MUG-1", 2)
    assert reserving.release_expired(db) == 0
    assert reserving.release_expired(db, utcnow() + timedelta(minutes=2)) == 1
    assert service.available(db, "web", ["MUG-1"]) == {"MUG-1": 3}
    assert service.check_ledger(db) == []


def test_a_negative_adjustment_is_applied_and_flagged(db: Database) -> None:
    make_world(db)
    result = service.change_stock(
        db, ChangeKind.ADJUSTMENT, [StockChange("GHOST-1", "ams", -2)], "test"
    )
    assert result.flagged == 1 and result.unknown_skus == ["GHOST-1"]
    alerts = service.list_alerts(db)
    assert [(a.kind, a.sku, a.quantity) for a in alerts] == [("negative_stock", "GHOST-1", -2)]
    service.resolve_alert(db, alerts[0].id)
    assert service.list_alerts(db) == []


@pytest.mark.parametrize(
    "text", ["sku,location\rquantity\nA,wh,1\n", 'sku,location,quantity\n"A,wh,1\n', "\x00"]
)
def test_an_unreadable_stock_file_is_invalid_input_not_a_crash(text: str) -> None:
    from channelhub.core.errors import InvalidInput
    from channelhub.inventory.service import parse_stock_csv

    with pytest.raises(InvalidInput):
        parse_stock_csv(text)
