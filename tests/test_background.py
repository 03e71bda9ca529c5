"""The worker's periodic work: one pass links an order to its customer, books the customer's
points, and brings the sales rollups up to date; a failing task does not stop the others."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

from sqlalchemy import select

from channelhub.background import TASKS, Task, last_failures, run_background, run_once
from channelhub.core.database import Database
from channelhub.customers.journeys import loyalty
from channelhub.customers.store import customer_order_links
from channelhub.insight import analytics
from channelhub.insight.analytics import Period
from channelhub.orders import service as orders
from channelhub.orders.model import Customer
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order


def test_one_pass_links_orders_books_points_and_refreshes_analytics(db: Database) -> None:
    make_world(db)
    save(db, mug("MUG-1"))
    stock(db, "wh", MUG_1=5)
    placed = datetime(2026, 11, 2, 12, tzinfo=UTC)
    first = replace(order("W-1", ("MUG-1", 2)), customer=Customer("ann@smit.nl", "Ann Smit"))
    second = replace(
        order("B-1", ("MUG-1", 1), channel="bol"), customer=Customer("ANN@smit.nl", "Ann")
    )
    ids = [orders.import_order(db, replace(o, placed_at=placed)).order_id for o in (first, second)]
    result = run_once(db)
    assert result["customers"] >= 2
    assert result["insight"] == 12  # three cross-channel reports over four periods
    with db.read() as conn:
        profiles = {
            row.order_id: row.profile_id for row in conn.execute(select(customer_order_links))
        }
        assert set(profiles) == set(ids) and len(set(profiles.values())) == 1
        account = loyalty.account_in(conn, next(iter(profiles.values())))
        # The default rule earns a point per euro: 2 x 9.95 + 9.95 = 29.85 -> 19 + 9 points.
        assert account.balance == account.earned > 0
        day = Period(date(2026, 11, 2), date(2026, 11, 2))
        web = next(s for s in analytics.sales_by_channel(conn, day) if s.channel == "web")
    assert (web.orders, web.units) == (1, 2)


def test_a_failing_task_is_logged_and_the_others_keep_running(db: Database) -> None:
    calls: list[str] = []

    def broken(_: Database) -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    def fine(_: Database) -> None:
        calls.append("fine")

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(
            run_background(db, stop, (Task("broken", 0.01, broken), Task("fine", 0.01, fine)))
        )
        await asyncio.sleep(0.2)
        stop.set()
        await runner

    asyncio.run(main())
    assert calls.count("broken") >= 2 and calls.count("fine") >= 2
    failures = last_failures(db)  # kept where an operator looks, with the traceback
    assert set(failures) == {"broken"}
    assert "RuntimeError: boom" in failures["broken"]["error"]
    assert "Traceback" in failures["broken"]["error"]
    assert [t.name for t in TASKS] == [
        "customers", "automation", "holds", "analytics", "insight", "segments", "feeds"
    ]  # fmt: skip


def test_a_costly_task_waits_longer_up_to_its_most() -> None:
    segments = next(t for t in TASKS if t.name == "segments")
    assert segments.wait_after(0.01) == 60.0  # cheap: every minute
    assert segments.wait_after(10.0) == 1200.0  # 120 times the cost
    assert segments.wait_after(120.0) == 3600.0  # at most an hour
    assert next(t for t in TASKS if t.name == "holds").wait_after(100.0) == 30.0
