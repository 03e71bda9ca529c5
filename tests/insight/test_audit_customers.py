"""The audit's customer checks: orders that name a customer but are not linked to a profile,
and customer records waiting on a possible match."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from channelhub.core.database import Database
from channelhub.customers import order_hook, service
from channelhub.customers.identity import resolve_record, save_rules
from channelhub.insight.audit import run_audit
from channelhub.orders import service as orders
from channelhub.orders.model import Customer
from tests.customers.factories import home, record
from tests.customers.journeys.conftest import buy, make_shop
from tests.orders.factories import order


@pytest.fixture(autouse=True)
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Orders count as not linked at once (the worker's grace period is ten minutes)."""
    monkeypatch.setattr("channelhub.insight.audit.LINK_GRACE", timedelta(seconds=-1))


def findings(db: Database, check: str) -> dict[tuple[str, str], str]:
    report = run_audit(db)
    return {(f.channel, f.item): f.detail for f in report.findings if f.check == check}


def test_orders_naming_a_customer_must_be_linked_to_a_profile(db: Database) -> None:
    make_shop(db)
    named = replace(order("W-1", ("MUG-1", 1)), customer=Customer("ann@example.com", "Ann"))
    orders.import_order(db, named)
    on_bol = replace(order("B-1", ("MUG-2", 1), channel="bol"), customer=Customer(phone="0612"))
    orders.import_order(db, on_bol)
    buy(db, "W-GUEST", ("MUG-1", 1))  # a guest order without any detail: nobody to link

    found = findings(db, "customer_not_linked")
    assert set(found) == {("web", "W-1"), ("bol", "B-1")}
    assert "email ann@example.com" in found["web", "W-1"]
    assert "phone 0612" in found["bol", "B-1"]
    scores = {s.channel: s for s in run_audit(db).scores}
    assert scores["web"].failing == 1 and scores["web"].score < 100

    order_hook.link_all_orders(db)
    assert findings(db, "customer_not_linked") == {}


def test_a_pending_match_is_a_finding_on_both_channels_until_decided(db: Database) -> None:
    make_shop(db)
    with db.transaction() as conn:
        save_rules(conn, {"upper_threshold": 0.99, "lower_threshold": 0.6})
        for channel, ref, first, last in (
            ("web", "c1", "Ann", "Visser"),
            ("pos", "p1", "Anne", "Viser"),
        ):
            resolve_record(
                conn,
                record(
                    channel, ref, first_name=first, last_name=last, birth_date="1980-03-12",
                    address=home(),
                ),
            )  # fmt: skip
    (pending,) = service.suggestions(db)
    found = findings(db, "customer_match_pending")
    assert set(found) == {("web", "c1"), ("pos", "p1")}
    assert "may be the same customer as pos p1" in found["web", "c1"]
    report = run_audit(db, channel_codes=["web"])
    assert [f.item for f in report.findings if f.check == "customer_match_pending"] == ["c1"]
    action = next(f.action for f in report.findings if f.check == "customer_match_pending")
    assert f"channelhub customers confirm {pending.id}" in action

    service.decide_suggestion(db, pending.id, False, "agent")
    assert findings(db, "customer_match_pending") == {}
