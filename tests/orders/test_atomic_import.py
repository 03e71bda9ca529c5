"""Importing a batch of orders all or nothing (what an exchange file needs), on both databases."""

from __future__ import annotations

import pytest

from channelhub.core.database import Database
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.inventory import service as inventory
from channelhub.orders import fulfilment, service
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order


def sellable(db: Database, sku: str) -> dict[str, int]:
    return {r.location: r.sellable for r in inventory.stock_levels(db, sku) if r.pool == ""}


def is_known(db: Database, external_id: str) -> bool:
    try:
        service.find_order(db, "web", external_id)
    except NotFound:
        return False
    return True


def test_a_batch_is_imported_whole_and_a_repeat_changes_nothing(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    batch = [order("F-1", ("MUG-1", 1)), order("F-2", ("MUG-1", 2))]
    first = service.import_orders_atomically(db, batch, "file")
    again = service.import_orders_atomically(db, batch, "file")
    assert [(r.external_id, r.outcome, r.status) for r in first] == [
        ("F-1", "created", "routed"),
        ("F-2", "created", "routed"),
    ]
    assert [r.outcome for r in again] == ["unchanged", "unchanged"]
    assert [r.order_id for r in again] == [r.order_id for r in first]
    assert sellable(db, "MUG-1") == {"wh": 2}


def test_an_order_that_cannot_be_placed_rolls_back_the_orders_before_it(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    shipped = service.import_order(db, order("F-1", ("MUG-1", 1)))
    fulfilment.ship(db, shipped.order_id or 0, actor="test")
    # F-2 is placed first; then F-1 asks for other lines, which a shipped order cannot take.
    batch = [order("F-2", ("MUG-1", 2)), order("F-1", ("MUG-1", 3))]
    with pytest.raises(Conflict):
        service.import_orders_atomically(db, batch, "file")
    assert not is_known(db, "F-2")
    assert sellable(db, "MUG-1") == {"wh": 4}
    assert inventory.check_ledger(db) == []
    # the batch import, by contrast, keeps the order it could place
    results = service.import_orders(db, batch, "api")
    assert [r.outcome for r in results] == ["created", "rejected"]


def test_an_invalid_order_is_refused_by_name_before_anything_is_written(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    bad = order("F-9", ("MUG-1", 0))
    with pytest.raises(InvalidInput) as caught:
        service.import_orders_atomically(db, [order("F-1", ("MUG-1", 1)), bad], "file")
    assert caught.value.detail == "order 'F-9' is not valid"
    assert [(p.location, p.message) for p in caught.value.problems] == [
        ("lines[0].quantity", "a quantity is 1 to 100,000")
    ]
    assert not is_known(db, "F-1")


def test_an_unknown_channel_refuses_the_whole_batch(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    batch = [order("F-1", ("MUG-1", 1)), order("F-2", ("MUG-1", 1), channel="nope")]
    with pytest.raises(NotFound):
        service.import_orders_atomically(db, batch, "file")
    assert not is_known(db, "F-1")
