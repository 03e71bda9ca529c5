"""Order imports are linked to profiles; data-protection export and erasure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database
from channelhub.core.errors import NotFound
from channelhub.customers import erasure, order_hook, service, store
from channelhub.customers.identity import find_profile, resolve
from channelhub.orders import service as orders
from channelhub.orders.model import Customer, PostalAddress
from channelhub.orders.store import orders as orders_table
from tests.customers.factories import home, record
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order

ANN = Customer("Ann.Visser@Shop.nl", "Ann Visser", "06 1357 2468")
ADDRESS = PostalAddress("Ann Visser", "Kerkstraat 1", "", "3511 AB", "Utrecht", "NL")


def place(
    db: Database,
    external_id: str,
    customer: Customer,
    channel: str = "web",
    address: PostalAddress = ADDRESS,
) -> int:
    placed = order(external_id, ("MUG-1", 1), channel=channel, address=address)
    placed = type(placed)(**{**placed.__dict__, "customer": customer})
    return orders.import_order(db, placed).order_id


def test_imported_orders_are_linked_to_their_customers_profile(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=10)
    with db.transaction() as conn:
        account = resolve(
            conn, record("web", "acct-1", email="ann.visser@shop.nl", loyalty_card="L-1")
        )
    first = place(db, "W-1", ANN)
    second = place(db, "B-1", Customer("", "Ann Visser", "+31613572468"), channel="bol")
    nobody = place(db, "W-2", Customer("", "", ""), address=PostalAddress(country="NL"))
    assert order_hook.link_all_orders(db) > 0
    assert service.profile_of_order(db, first) == account
    # the bol order only had a phone: it reached the same person through the web order
    assert service.profile_of_order(db, second) == account
    with pytest.raises(NotFound):
        service.profile_of_order(db, nobody)
    profile = service.get_profile(db, account)
    assert profile.order_ids == [first, second]
    assert profile.golden["address"]["value"]["postal_code"] == "3511 AB"
    # running again reads nothing new and links nothing twice
    assert order_hook.link_orders(db) == 0
    with db.read() as conn:
        links = conn.execute(select(store.customer_order_links)).all()
    assert len(links) == 2


def test_export_holds_everything_of_the_person_and_is_audited(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=10)
    with db.transaction() as conn:
        profile = resolve(
            conn,
            record("web", "acct-1", email="ann.visser@shop.nl", first_name="Ann", address=home()),
        )
    order_id = place(db, "W-1", ANN)
    order_hook.link_all_orders(db)
    calls: list[Sequence[int]] = []

    def exporter(conn: Connection, ids: Sequence[int]) -> Any:
        calls.append(list(ids))
        return {"points": 10}

    erasure.register_exporter("test-part", exporter)
    try:
        document = erasure.export_profile(db, profile, "dpo")
    finally:
        erasure._exporters.pop("test-part")
    assert document["profile"]["id"] == profile
    assert document["orders"][0]["id"] == order_id
    assert document["orders"][0]["customer"]["email"] == "Ann.Visser@Shop.nl"
    assert document["parts"]["test-part"] == {"points": 10}
    assert calls == [[profile]]
    assert {r["channel"] for r in document["profile"]["records"]} == {"web"}
    audit = erasure.audit_log(db, profile)
    assert [(a["action"], a["actor"]) for a in audit] == [("export", "dpo")]


def test_erasure_removes_personal_data_and_keeps_orders_anonymised(db: Database) -> None:
    make_world(db)
    stock(db, "wh", MUG_1=10)
    with db.transaction() as conn:
        profile = resolve(
            conn,
            record(
                "web",
                "acct-1",
                email="ann.visser@shop.nl",
                first_name="Ann",
                last_name="Visser",
                address=home(),
            ),
        )
        other = resolve(conn, record("pos", "card-1", loyalty_card="L-1", phone="0613572468"))
    order_id = place(db, "W-1", ANN)
    order_hook.link_all_orders(db)  # the order's phone merges the card's profile in
    erased_ids: list[list[int]] = []

    def eraser(conn: Connection, ids: Sequence[int]) -> Any:
        erased_ids.append(list(ids))
        return {"carts": 0}

    erasure.register_eraser("test-part", eraser)
    try:
        summary = erasure.erase_profile(db, other, "dpo")
    finally:
        erasure._erasers.pop("test-part")
    assert summary["profile_id"] == profile and summary["orders_anonymised"] == 1
    assert erased_ids == [[profile, other]]
    view = service.get_profile(db, profile)
    assert view.golden == {} and view.identifiers == [] and view.erased_at is not None
    assert all(r["attributes"] == {} for r in view.records)
    with db.read() as conn:
        assert find_profile(conn, "email", "ann.visser@shop.nl") is None
        kept = conn.execute(select(orders_table).where(orders_table.c.id == order_id)).one()
        links = conn.execute(select(store.customer_links)).all()
    # the order stays for accounting: amounts and lines, no personal data, the country kept
    assert kept.total_minor > 0
    assert kept.customer == {"email": "", "name": "erased", "phone": ""}
    assert kept.shipping_address == {"country": "NL"}
    assert all(link.identifier_value is None for link in links)
    text = str(erasure.export_profile(db, profile, "dpo"))
    for personal in ("visser", "Visser", "0613572468", "+31613572468", "Kerkstraat"):
        assert personal not in text
    assert [a["action"] for a in erasure.audit_log(db, profile)] == ["export", "erase"]
    # a later sign-up with the same address starts a fresh profile
    with db.transaction() as conn:
        again = resolve(conn, record("web", "acct-1", email="ann.visser@shop.nl"))
    assert again not in (profile, other)
