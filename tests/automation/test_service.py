"""Rules end to end on both databases: versions, dry runs, the two examples of the issue (hold
a SKU's marketplace offers when its stock is low; create a marketplace order in the webshop),
tags, and each rule applied once per event whatever the number of passes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from channelhub.automation import service
from channelhub.automation.store import positions, rule_runs
from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.connectors.webhook import sign
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.core.events import outbox
from channelhub.inventory.service import ChangeKind, StockChange, change_stock
from channelhub.orders.model import Customer, LineInput, OrderInput
from channelhub.orders.service import import_order
from channelhub.sync import values
from channelhub.sync.connections import ConnectionInput, load_connection, save_connection
from channelhub.sync.model import JobKind
from tests.automation.conftest import HOOK_SECRET, Recorder, settle
from tests.inventory.factories import stock

HOLD_RULE = {
    "code": "low-stock-hold",
    "description": "hold marketplace offers under 3 units",
    "event": "stock.changed",
    "actions": [{"type": "hold_offers", "below": 3}],
}
FORWARD_RULE = {
    "code": "marketplace-to-webshop",
    "event": "order.created",
    "conditions": [{"field": "channel_kind", "op": "eq", "value": "marketplace"}],
    "actions": [
        {"type": "forward_order", "connection": "webshop"},
        {"type": "tag_order", "tags": ["forwarded"], "note": "created in the webshop"},
    ],
}


def count(db: Database, sku: str, quantity: int) -> None:
    change_stock(db, ChangeKind.COUNT, [StockChange(sku, "wh", quantity)], source="test")


def order(db: Database, channel: str, external_id: str, sku: str = "MUG-1") -> int:
    result = import_order(
        db,
        OrderInput(
            channel=channel,
            external_id=external_id,
            currency="EUR",
            lines=(LineInput(sku, 1, Decimal("9.95"), external_line_id="L1"),),
            customer=Customer(email="ann@example.com", name="Ann"),
            placed_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ),
    )
    assert result.order_id is not None
    return result.order_id


def test_every_change_is_a_new_version_and_old_ones_are_kept(world: Database) -> None:
    first = service.save_rule(world, HOLD_RULE, actor="ann")
    same = service.save_rule(world, HOLD_RULE, actor="ann")
    assert (first.version, same.version) == (1, 1)  # nothing changed: no new version
    changed = {**HOLD_RULE, "actions": [{"type": "hold_offers", "below": 5}]}
    second = service.save_rule(world, changed, actor="bob")
    off = service.set_rule_enabled(world, "low-stock-hold", False)
    assert (second.version, off.version, off.enabled) == (2, 3, False)
    versions = service.rule_versions(world, "low-stock-hold")
    assert [v.version for v in versions] == [3, 2, 1]
    assert [v.is_current for v in versions] == [True, False, False]
    assert versions[2].definition["actions"][0]["below"] == 3
    restored = service.restore_rule(world, "low-stock-hold", 1)
    assert restored.version == 4
    assert restored.definition["actions"][0]["below"] == 3 and restored.enabled
    assert [r.code for r in service.list_rules(world)] == ["low-stock-hold"]
    with pytest.raises(NotFound):
        service.get_rule(world, "nope")

    rule = {
        "code": "notify",
        "event": "order.created",
        "actions": [{"type": "send_webhook", "webhook": "nope"}],
    }
    with pytest.raises(InvalidInput, match=r"actions\.0\.webhook"):
        service.save_rule(world, rule)


def test_hold_offers_on_marketplaces_when_stock_falls_and_lift_it_when_it_rises(
    world: Database,
) -> None:
    service.save_rule(world, HOLD_RULE)
    change_status(world, "MUG-1", Status.IN_REVIEW, "test")
    change_status(world, "MUG-1", Status.APPROVED, "test")
    save_connection(
        world,
        ConnectionInput(
            code="bol-files",
            platform="webhook",
            channel="bol",
            config={"url": "http://127.0.0.1:9", "secret": HOOK_SECRET},
            subscriptions=(JobKind.LISTINGS,),
        ),
    )
    bol = load_connection(world, "bol-files")
    stock(world, "wh", MUG_1=10)
    settle(world)
    assert service.held_offers(world) == []
    assert not values.listing_of(world, bol, "MUG-1").on_hold
    count(world, "MUG-1", 2)
    settle(world)
    # The listing the engine sends to bol.com now puts the offer on hold.
    assert values.listing_of(world, bol, "MUG-1").on_hold
    held = service.held_offers(world, "MUG-1")
    assert [(c, s) for c, s, _ in held] == [("bol", "MUG-1")]  # bol is the marketplace
    assert "2 available < 3" in held[0][2]
    with world.read() as conn:
        assert service.is_on_hold(conn, "bol", "MUG-1")
        assert not service.is_on_hold(conn, "web", "MUG-1")
        # The engine hears of it: a product change that makes it push the SKU's listing.
        announced = conn.execute(
            select(outbox.c.payload).where(
                outbox.c.topic == "catalog.product_changed", outbox.c.key == "MUG-1"
            )
        ).scalars()
        assert {"sku": "MUG-1", "fields": ["on_hold"]} in list(announced)
    count(world, "MUG-1", 8)
    settle(world)
    assert service.held_offers(world) == []
    assert not values.listing_of(world, bol, "MUG-1").on_hold
    log = service.rule_log(world, "low-stock-hold")
    outcomes = [(e.outcome, e.detail.split(" (")[0]) for e in reversed(log)]
    assert ("applied", "hold MUG-1 on bol") in outcomes
    assert ("applied", "release MUG-1 on bol") in outcomes


def test_dry_run_shows_what_would_happen_without_doing_it(world: Database) -> None:
    stock(world, "wh", MUG_1=10, MUG_2=1)
    given = [
        {"event": "stock.changed", "data": {"sku": "MUG-1", "available": 1}},
        {"event": "stock.changed", "data": {"sku": "MUG-2", "available": 9}},
        {"event": "order.created", "data": {"order_id": 1}},
    ]
    outcomes = service.dry_run(world, rule_document=HOLD_RULE, events=given)
    assert [o.matched for o in outcomes] == [True, True, False]
    assert outcomes[0].actions[0].detail.startswith("hold MUG-1 on bol")
    assert not outcomes[1].actions[0].changes  # not on hold, nothing to lift
    assert service.held_offers(world) == []  # nothing was done
    # The last N real events: MUG-2 has 1 unit.
    real = service.dry_run(world, rule_document=HOLD_RULE, last=5)
    skus = {o.actions[0].detail.split()[1] for o in real if o.actions and o.actions[0].changes}
    assert skus == {"MUG-2"}
    assert service.held_offers(world) == []
    with pytest.raises(InvalidInput):
        service.dry_run(world)
    odd = [
        {"event": "stock.changed", "data": {"sku": "MUG-1", "available": "lots"}},
        {"event": "stock.changed", "data": {"sku": "MUG-1"}},
    ]
    for outcome in service.dry_run(world, rule_document=HOLD_RULE, events=odd):
        (action,) = outcome.actions
        assert action.detail.startswith("would fail") and not action.changes
    forward = service.dry_run(
        world,
        rule_document=FORWARD_RULE,
        events=[
            {"event": "order.created", "data": {"order_id": 99, "channel_kind": "marketplace"}}
        ],
    )
    details = [a.detail for a in forward[0].actions]
    assert details == [
        "would fail: connection 'webshop' does not exist",
        "tag order 99 with forwarded",
    ]


def test_a_marketplace_order_is_created_in_the_webshop_once(
    world: Database, recorder: Recorder
) -> None:
    save_connection(
        world,
        ConnectionInput(
            code="webshop",
            platform="webhook",
            channel="web",
            config={"url": recorder.url, "secret": recorder.secret},
        ),
    )
    service.save_rule(world, FORWARD_RULE)
    stock(world, "wh", MUG_1=5)
    bol_order = order(world, "bol", "BOL-1")
    order(world, "web", "WEB-1")  # a webshop order is not forwarded
    settle(world)
    assert len(recorder.received) == 1
    sent = recorder.received[0]
    assert sent["topic"] == "orders/create" and sent["id"] == "bol:BOL-1"
    assert sent["order"]["external_id"] == "BOL-1"
    (line,) = sent["order"]["lines"]
    assert (line["external_line_id"], line["sku"], line["quantity"]) == ("L1", "MUG-1", 1)
    amounts = [Decimal(line[k]) for k in ("unit_price", "discount", "tax")]
    assert amounts == [Decimal("9.95"), 0, 0]
    assert recorder.headers[0]["x-channelhub-signature"] == sign(recorder.secret, recorder.raw[0])
    assert service.order_tag_list(world, bol_order) == [("forwarded", "created in the webshop")]
    # Handling the same events again (a crash before the position was kept) does nothing twice.
    with world.transaction() as conn:
        conn.execute(update(positions).values(value={"position": 0, "gaps": {}}))
    settle(world)
    assert len(recorder.received) == 1
    with world.read() as conn:
        runs = conn.execute(
            select(func.count()).select_from(rule_runs).where(rule_runs.c.outcome == "applied")
        ).scalar_one()
    assert runs == 1


def test_a_failing_action_is_logged_and_does_not_stop_the_others(world: Database) -> None:
    rule = {**FORWARD_RULE, "code": "to-nowhere"}
    rule["actions"] = [{"type": "forward_order", "connection": "missing"}]
    service.save_rule(world, rule)
    service.save_rule(
        world, {**FORWARD_RULE, "code": "tagger", "actions": [FORWARD_RULE["actions"][1]]}
    )
    stock(world, "wh", MUG_1=5)
    placed = order(world, "bol", "BOL-2")
    settle(world)
    failed = service.rule_log(world, "to-nowhere")
    assert [(e.outcome, e.detail) for e in failed] == [
        ("failed", "connection 'missing' does not exist")
    ]
    assert service.order_tag_list(world, placed) == [("forwarded", "created in the webshop")]
