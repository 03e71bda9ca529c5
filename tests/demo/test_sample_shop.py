"""The sample retailer looks like a running shop: 90 days of sales history, parity rules for the
marketplaces' markup, stores replenished by transfers; and the pieces of a timed demo run
(the worker's restarts, what counts as planted)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.demo import runner
from channelhub.demo.history import DAYS, seed_history
from channelhub.demo.load import load_live_retailer
from channelhub.demo.runner import DemoOptions, Narrator, WorkerThread, make_sandboxes
from channelhub.demo.summary import PLANTED
from channelhub.demo.traffic import STORE_LOW, STORE_SHELF, WAREHOUSE_LOW, Traffic
from channelhub.insight.analytics import Interval, Period, sales_over_time
from channelhub.insight.audit import Finding, Severity, run_audit
from channelhub.inventory.service import stock_levels
from channelhub.orders.history import PastOrder, record_past_orders
from channelhub.orders.model import LineInput, OrderInput, OrderStatus
from channelhub.orders.service import list_orders
from channelhub.pricing.parity import parity_report

TODAY = date(2026, 12, 6)


@pytest.fixture
def shop(db: Database) -> Database:
    load_live_retailer(db)
    return db


def on_hand(db: Database) -> dict[tuple[str, str], int]:
    return {(s.sku, s.location): s.on_hand for s in stock_levels(db, limit=10_000)}


def test_ninety_days_of_history_give_every_channel_a_trend_and_leave_stock_alone(
    shop: Database,
) -> None:
    before = on_hand(shop)
    summary = seed_history(shop, today=TODAY)
    assert "new past orders" in summary
    with shop.read() as conn:
        points = sales_over_time(conn, Period(date(2026, 9, 7), TODAY), Interval.DAY)
    days_by_channel: dict[str, set[str]] = {}
    for point in points:
        days_by_channel.setdefault(point.channel, set()).add(point.bucket)
    assert set(days_by_channel) == {
        "webshop",
        "bol",
        "amazon",
        "app",
        "store_amsterdam",
        "store_rotterdam",
    }
    assert all(len(days) >= DAYS - 10 for days in days_by_channel.values())
    # The trend grows: the last 30 days sell more than the first 30.
    by_day = Counter[str]()
    for point in points:
        by_day[point.bucket] += point.orders
    ordered = [by_day[d] for d in sorted(by_day)]
    assert sum(ordered[-30:]) > sum(ordered[:30])
    assert on_hand(shop) == before  # past orders reserve and move nothing
    # Anonymous: no order waits to be linked to a customer profile.
    assert "customer_not_linked" not in run_audit(shop).counts
    assert seed_history(shop, today=TODAY).endswith("(0 new past orders)")  # idempotent


def test_a_past_order_must_be_finished_and_dated(shop: Database) -> None:
    order = OrderInput("webshop", "OLD-1", "EUR", (LineInput("MUG-WHITE", 1, Decimal("12.95")),))
    with pytest.raises(InvalidInput, match="placed_at is required"):
        record_past_orders(shop, [PastOrder(order)], actor="test")
    dated = OrderInput(
        "webshop",
        "OLD-1",
        "EUR",
        order.lines,
        placed_at=datetime(2026, 10, 1, 12, tzinfo=UTC),
    )
    with pytest.raises(InvalidInput, match="routed is not final"):
        record_past_orders(shop, [PastOrder(dated, OrderStatus.ROUTED)], actor="test")
    assert len(record_past_orders(shop, [PastOrder(dated)], actor="test")) == 1
    assert record_past_orders(shop, [PastOrder(dated)], actor="test") == []  # held already
    [stored], _ = list_orders(shop, channel="webshop")
    assert (stored.external_id, stored.status) == ("OLD-1", OrderStatus.DELIVERED)
    assert stored.placed_at == dated.placed_at


def test_the_marketplace_markup_is_allowed_and_only_the_webshop_mug_sale_disagrees(
    shop: Database,
) -> None:
    report = parity_report(shop)
    assert report.breaks, "the webshop's mug sale is a real disagreement"
    for found in report.breaks:
        assert found.sku.startswith("MUG-"), found
        assert "webshop" in (found.channel, found.other_channel), found


def test_stores_that_run_low_get_a_transfer_from_the_warehouse(shop: Database) -> None:
    lines: list[str] = []
    narrator = Narrator(out=lines.append)
    traffic = Traffic(
        shop,
        "http://127.0.0.1:9",
        "no-token",
        make_sandboxes(),
        narrator,
        DemoOptions(),
        threading.Event(),
    )
    try:
        totals_before = Counter[str]()
        for (sku, _), n in on_hand(shop).items():
            totals_before[sku] += n
        traffic._replenish_stores()
    finally:
        traffic.http.close()
    moves = narrator.of_kind("transfer")
    assert {m.facts["location"] for m in moves} == {"ams", "rtm"}, lines
    levels = {(s.sku, s.location): s.sellable for s in stock_levels(shop, limit=10_000)}
    for location in ("ams", "rtm"):
        for sku in traffic.skus:
            have = levels.get((sku, location), 0)
            # Still low only where the warehouse cannot spare the units without running low.
            if have < STORE_LOW:
                assert levels[(sku, "wh")] - WAREHOUSE_LOW < STORE_SHELF - have, (sku, location)
    low_before = sum(1 for m in moves for _ in m.facts["skus"])
    assert low_before >= 20, lines
    totals_after = Counter[str]()
    for (sku, _), n in on_hand(shop).items():
        totals_after[sku] += n
    assert totals_after == totals_before  # moved, not made


def test_the_worker_thread_restarts_after_an_exception_and_counts_it(
    monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    runs: list[int] = []

    class FlakyWorker:
        def __init__(self, _db: Database) -> None:
            pass

        async def run(self, stop: asyncio.Event) -> None:
            runs.append(1)
            if len(runs) == 1:
                raise RuntimeError("boom")
            await stop.wait()

    async def no_background(_db: Database, stop: asyncio.Event) -> None:
        await stop.wait()

    monkeypatch.setattr(runner, "Worker", FlakyWorker)
    monkeypatch.setattr(runner, "run_background", no_background)
    worker = WorkerThread(db)
    worker.start()
    deadline = time.monotonic() + 30
    while len(runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert worker.failures == ["RuntimeError: boom"]
    assert len(runs) == 2 and worker.error is None and not worker.thread.is_alive()


def finding(check: str, channel: str, item: str, detail: str = "detail") -> Finding:
    return Finding(check, Severity.ERROR, channel, item, detail, "action")


@pytest.mark.parametrize(
    ("found", "planted"),
    [
        (finding("delivery_failed", "bol", "MUG-BLACK"), "product_without_ean"),
        (finding("approved_not_published", "amazon", "MUG-BLACK"), "product_without_ean"),
        (
            finding("price_parity", "app", "MUG-WHITE", "12.95 on app, 9.95 on webshop"),
            "webshop_only_mug_sale",
        ),
        (finding("delivery_failed", "bol", "A001293177"), None),  # a shipment: not planted
        (finding("delivery_failed", "webshop", "MUG-BLACK"), None),  # the webshop has no EAN rule
        (finding("price_parity", "app", "TEE-LOGO-BLA-L"), None),
        (finding("price_parity", "app", "MUG-WHITE", "12.95 on app, 13.80 on bol"), None),
        (finding("phantom_stock", "bol", "MUG-BLACK"), None),
    ],
)
def test_only_the_planted_problems_explain_their_own_findings(
    found: Finding, planted: str | None
) -> None:
    owners: list[Any] = [p.name for p in PLANTED if p.explains(found)]
    assert owners == ([planted] if planted else [])
