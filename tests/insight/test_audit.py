"""The channel-consistency audit finds each kind of disagreement, names the channel, the item
and the action, and scores each channel."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from channelhub.api.app import create_app
from channelhub.apikeys import service as apikeys
from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode, Status
from channelhub.catalog.products import change_status, save_products
from channelhub.cli.main import app
from channelhub.core.database import Database, utcnow
from channelhub.insight.audit import Finding, run_audit
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sync.model import JobKind
from channelhub.sync.store import connections, inbox, jobs
from tests.factories import mug, value
from tests.inventory.factories import stock
from tests.sync.conftest import Receiver, connect, drain


def by_check(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


def prepare(db: Database, receiver: Receiver) -> None:
    for sku in ("MUG-1", "MUG-2"):
        change_status(db, sku, Status.IN_REVIEW, "test")
        change_status(db, sku, Status.APPROVED, "test")
    stock(db, "wh", MUG_1=5, MUG_2=2, MUG_3=1)
    for channel, price in (("web", "12.95"), ("bol", "12.95")):
        pricing.save_price_list(db, f"{channel}_eur", channel)
        save_prices(
            db,
            [PriceInput("MUG-1", Decimal(price)), PriceInput("MUG-2", Decimal("9.95"))],
            price_list=f"{channel}_eur",
            actor="test",
        )
    # bol sells MUG-2 for less: a parity break between the two integrated channels.
    save_prices(db, [PriceInput("MUG-2", Decimal("8.95"))], price_list="bol_eur", actor="test")
    connect(db, receiver, kinds=(JobKind.LISTINGS, JobKind.STOCK, JobKind.PRICES))
    drain(db)


def test_a_clean_connection_has_no_catalog_or_stock_findings(
    world: Database, receiver: Receiver
) -> None:
    prepare(world, receiver)
    report = run_audit(world, read_back=True)
    checks = {f.check for f in report.findings}
    assert checks == {"price_parity"}, report.findings
    breaks = by_check(report.findings, "price_parity")
    assert {(f.channel, f.item) for f in breaks} == {("web", "MUG-2"), ("bol", "MUG-2")}
    assert "9.95" in breaks[0].detail and "8.95" in breaks[0].detail
    scores = {s.channel: s for s in report.scores}
    assert scores["web"].failing == 1 and 0 < scores["web"].score < 100


def test_each_disagreement_is_found_with_its_action(world: Database, receiver: Receiver) -> None:
    db = world
    prepare(db, receiver)
    # The channel shows 9 of MUG-1 (the hub can sell 5) and 1 of MUG-2 (the hub: 2).
    receiver.state.stock["MUG-1"] = 9
    receiver.state.stock["MUG-2"] = 1
    receiver.state.prices["MUG-1"] = "10.00"
    # MUG-1's content changes after its delivery; MUG-2 loses its approval after delivery.
    save_products(db, [mug("MUG-1", values=[value("name", "Big mug", "en_US")])], actor="t")
    change_status(db, "MUG-2", Status.ARCHIVED, "test")
    # MUG-3 is approved and complete but the connection never got it.
    change_status(db, "MUG-3", Status.IN_REVIEW, "test")
    change_status(db, "MUG-3", Status.APPROVED, "test")
    with db.transaction() as conn:
        conn.execute(
            jobs.delete().where(jobs.c.kind == JobKind.LISTINGS.value, jobs.c.key == "MUG-3")
        )
        connection_id = conn.execute(select(connections.c.id)).scalar_one()
        # A stock job gave up; an order webhook was received long ago and never applied.
        conn.execute(
            update(jobs)
            .where(jobs.c.kind == JobKind.STOCK.value, jobs.c.key == "MUG-3")
            .values(state="dead", last_error="PermanentError: 400 unknown sku")
        )
        conn.execute(
            insert(inbox).values(
                connection_id=connection_id,
                dedupe_key="order-77",
                topic="orders/create",
                entity="77",
                body="{}",
                headers={},
                state="failed",
                attempts=3,
                last_error="SKU NOPE is not in the catalog",
                received_at=utcnow() - timedelta(hours=1),
            )
        )
    catalog.save_channel(
        db,
        catalog.ChannelInput(
            "app", "App", ChannelKind.APP, ChannelMode.INDEPENDENT, ("nl_NL",), "EUR"
        ),
    )
    report = run_audit(db, read_back=True)
    found = {(f.check, f.channel, f.item) for f in report.findings}
    assert ("phantom_stock", "web", "MUG-1") in found
    assert ("stock_behind", "web", "MUG-2") in found
    assert ("price_drift", "web", "MUG-1") in found
    assert ("content_differs", "web", "MUG-1") in found
    assert ("published_incomplete", "web", "MUG-2") in found
    assert ("approved_not_published", "web", "MUG-3") in found
    assert ("delivery_failed", "web", "MUG-3") in found
    assert ("orders_not_imported", "web", "order-77") in found
    assert ("independent_channel", "app", "app") in found
    phantom = by_check(report.findings, "phantom_stock")[0]
    assert "9" in phantom.detail and "5" in phantom.detail and "oversell" in phantom.detail
    assert phantom.action.startswith("`channelhub sync reconcile web-hook`")
    stuck = by_check(report.findings, "orders_not_imported")[0]
    assert "SKU NOPE" in stuck.detail
    scores = {s.channel: s for s in report.scores}
    assert scores["web"].score < 100 and scores["app"].score == 75
    # The audit changed nothing: no corrections were queued.
    with db.read() as conn:
        states = set(conn.execute(select(jobs.c.state)).scalars())
    assert "new" not in states


def test_the_api_and_cli_serve_the_audit(
    world: Database, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(world, receiver)
    _, token = apikeys.create_key(world, "reader", ["read"])
    client = TestClient(create_app(world))
    response = client.get(
        "/api/v1/audit", params={"channel": ["web"]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"price_parity": 1}
    assert [s["channel"] for s in body["scores"]] == ["web"]
    assert body["findings"][0]["action"]
    monkeypatch.setattr("channelhub.cli.insight.database", lambda: world)
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(app, ["audit", "--channel", "bol", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "price_parity" in result.output and "MUG-2" in result.output
    saved = json.loads(out.read_text())
    assert [s["channel"] for s in saved["scores"]] == ["bol"] and saved["counts"][
        "price_parity"
    ] == 1
