"""Anonymising the customer of orders (for an erasure), on both databases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from channelhub.core.database import Database
from channelhub.orders import service
from channelhub.orders.model import PaymentStatus
from channelhub.orders.privacy import anonymise_customer
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order


def test_the_orders_keep_their_accounting_and_lose_the_customer(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    erased = service.import_order(db, order("P-1", ("MUG-1", 2))).order_id or 0
    other = service.import_order(db, order("P-2", ("MUG-1", 1))).order_id or 0
    before = service.get_order(db, erased)
    with db.transaction() as conn:
        anonymise_customer(conn, [erased, 987654])  # an id that is no order is passed over
    after = service.get_order(db, erased)
    assert after.customer == {"email": "", "name": "erased", "phone": ""}
    assert after.billing_address == after.shipping_address == {"country": "NL"}
    assert (after.total, after.status, after.placed_at) == (
        before.total,
        before.status,
        before.placed_at,
    )
    assert [(line.sku, line.quantity) for line in after.lines] == [("MUG-1", 2)]
    untouched = service.get_order(db, other)
    assert untouched.customer["email"] == "ann@example.com"
    assert untouched.shipping_address["city"] == "Amsterdam"


def test_a_rolled_back_transaction_leaves_the_orders_as_they_were(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    order_id = service.import_order(db, order("P-1", ("MUG-1", 1))).order_id or 0

    class ErasureFailedElsewhere(Exception):
        pass

    with pytest.raises(ErasureFailedElsewhere), db.transaction() as conn:
        anonymise_customer(conn, [order_id])
        raise ErasureFailedElsewhere
    assert service.get_order(db, order_id).customer["name"] == "Ann"


def test_no_orders_and_a_repeat_change_nothing(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    order_id = service.import_order(db, order("P-1", ("MUG-1", 1))).order_id or 0
    with db.transaction() as conn:
        anonymise_customer(conn, [])
    assert service.get_order(db, order_id).customer["name"] == "Ann"
    for _ in range(2):
        with db.transaction() as conn:
            anonymise_customer(conn, [order_id])
    assert service.get_order(db, order_id).shipping_address == {"country": "NL"}


def test_a_channel_sending_the_order_again_does_not_bring_the_customer_back(
    db: Database,
) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=5)
    placed = order("P-1", ("MUG-1", 1))
    order_id = service.import_order(db, placed).order_id or 0
    with db.transaction() as conn:
        anonymise_customer(conn, [order_id])
    # The channel still has the person and sends the order again, now paid.
    again = service.import_order(db, replace(placed, payment_status=PaymentStatus.PAID))
    assert again.outcome == "updated" and again.order_id == order_id
    after = service.get_order(db, order_id)
    assert after.payment_status == PaymentStatus.PAID
    assert after.customer == {"email": "", "name": "erased", "phone": ""}
    assert after.shipping_address == after.billing_address == {"country": "NL"}
    # Another order of the same channel still stores its customer.
    other = service.import_order(db, replace(placed, external_id="P-2")).order_id or 0
    assert service.get_order(db, other).customer["name"] == "Ann"
