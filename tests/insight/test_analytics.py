"""Analytics against a small, hand-computed world: two days of orders on web, bol and the
store's till, a cancellation, a return, unit costs, and stock in three locations."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from channelhub.api.app import create_app
from channelhub.apikeys import service as apikeys
from channelhub.cli.main import app
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.insight import analytics, rollup
from channelhub.insight.analytics import Interval, Period
from channelhub.insight.costs import save_costs
from channelhub.orders import service as orders
from channelhub.orders.fulfilment import ReturnItem, cancel, return_items, ship
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order

DAY1 = datetime(2026, 11, 2, 10, tzinfo=UTC)  # a Monday
DAY2 = datetime(2026, 11, 3, 15, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 2), date(2026, 11, 3))


@pytest.fixture
def shop(db: Database) -> Database:
    make_world(db)
    save(db, mug("MUG-1"), mug("MUG-2"), mug("MUG-3"))
    stock(db, "wh", MUG_1=20, MUG_2=5, MUG_3=9)
    stock(db, "ams", MUG_1=4)
    save_costs(db, [("MUG-1", "EUR", Decimal("4.00"))])  # MUG-2 and MUG-3 have no known cost

    def put(external_id: str, when: datetime, *lines: tuple[str, int], **kw: object) -> int:
        made = order(external_id, *lines, **kw)  # type: ignore[arg-type]
        return orders.import_order(db, replace(made, placed_at=when)).order_id or 0

    # Day 1: web sells 2 x MUG-1 and 1 x MUG-2 (3 x 9.95 = 29.85); bol sells 1 x MUG-1.
    web1 = put("W1", DAY1, ("MUG-1", 2), ("MUG-2", 1))
    put("B1", DAY1, ("MUG-1", 1), channel="bol", price="12.00")
    # Day 2: web sells 1 x MUG-3, then a second web order is cancelled; the till sells 1 MUG-1.
    put("W2", DAY2, ("MUG-3", 1))
    cancelled = put("W3", DAY2, ("MUG-2", 2))
    cancel(db, cancelled, actor="test")
    put("P1", DAY2, ("MUG-1", 1), channel="pos", price="10.00")
    # One MUG-1 of the first web order comes back to the Amsterdam store.
    view = orders.get_order(db, web1)
    ship(db, web1, "test", location="wh")
    line = next(line for line in orders.get_order(db, web1).lines if line.sku == "MUG-1")
    return_items(db, web1, "ams", [ReturnItem(line.line_no, 1)], actor="test")
    assert view.id == web1
    rollup.refresh(db)
    return db


def test_sales_per_channel_match_the_hand_computed_figures(shop: Database) -> None:
    with shop.read() as conn:
        rows = {row.channel: row for row in analytics.sales_by_channel(conn, PERIOD)}
    web = rows["web"]
    assert (web.orders, web.cancelled_orders, web.units) == (2, 1, 4)
    assert web.revenue == Decimal("39.80")  # 29.85 + 9.95
    assert web.average_order_value == Decimal("19.90")
    assert web.returned_units == 1
    assert web.return_rate == 0.25
    assert web.refunded == Decimal("9.95")
    assert web.net_revenue == Decimal("29.85")
    # Costs are known for the web's 2 MUG-1 only: revenue 19.90, cost 8.00.
    assert web.margin == round((19.90 - 8.00) / 19.90, 4)
    assert web.cost_coverage == round(19.90 / 39.80, 4)
    bol = rows["bol"]
    assert (bol.orders, bol.units, bol.revenue, bol.margin) == (1, 1, Decimal("12.00"), 0.6667)
    assert rows["pos"].revenue == Decimal("10.00")


def test_series_by_day_week_and_month(shop: Database) -> None:
    with shop.read() as conn:
        days = analytics.sales_over_time(conn, PERIOD, Interval.DAY, "web")
        weeks = analytics.sales_over_time(conn, PERIOD, Interval.WEEK)
        months = analytics.sales_over_time(conn, PERIOD, Interval.MONTH, "web")
    assert [(p.bucket, p.orders, p.units, p.revenue) for p in days] == [
        ("2026-11-02", 1, 3, Decimal("29.85")),
        ("2026-11-03", 1, 1, Decimal("9.95")),
    ]
    assert {(p.bucket, p.channel, p.orders) for p in weeks} == {
        ("2026-11-02", "bol", 1),
        ("2026-11-02", "pos", 1),
        ("2026-11-02", "web", 2),
    }
    assert [(p.bucket, p.revenue) for p in months] == [("2026-11", Decimal("39.80"))]


def test_a_refresh_recomputes_only_changed_days_and_is_repeatable(shop: Database) -> None:
    with shop.read() as conn:
        before = analytics.sales_by_channel(conn, PERIOD)
    again = rollup.refresh(shop)
    assert again.rebuilt is False
    with shop.read() as conn:
        assert analytics.sales_by_channel(conn, PERIOD) == before
    rebuilt = rollup.refresh(shop, rebuild=True)
    assert rebuilt.rebuilt and rebuilt.days == 2
    with shop.read() as conn:
        assert analytics.sales_by_channel(conn, PERIOD) == before
    # A new order on day 2 shows after the next refresh.
    orders.import_order(shop, replace(order("W9", ("MUG-3", 1)), placed_at=DAY2))
    rollup.refresh(shop)
    with shop.read() as conn:
        web = next(r for r in analytics.sales_by_channel(conn, PERIOD) if r.channel == "web")
    assert (web.orders, web.units) == (3, 5)


def test_inventory_health(shop: Database) -> None:
    with shop.read() as conn:
        health = analytics.inventory_health(conn, as_of=date(2026, 11, 3), window_days=2)
    by_sku = {h.sku: h for h in health.low_cover}
    # MUG-1 sold 2 (web) + 1 (bol) + 1 (pos) = 4 in 2 days: 2 a day. The warehouse had 20,
    # shipped 2 for the web order; the return put 1 back in Amsterdam (4 + 1); the bol and
    # pos orders reserve 2; so 23 on hand, 21 free: 10.5 days of cover.
    mug1 = by_sku["MUG-1"]
    assert (mug1.units_sold, mug1.daily_rate) == (4, 2.0)
    assert (mug1.on_hand, mug1.available, mug1.days_of_cover) == (23, 21, 10.5)
    assert "MUG-2" in by_sku and "MUG-3" in by_sku
    assert all(h.units_sold == 0 for h in health.slow_movers)
    channels = {c.channel: c for c in health.channels}
    assert channels["web"].skus_selling == 3 and channels["web"].stockouts == 0
    assert channels["pos"].skus_selling == 1
    places = {p.location: p for p in health.locations}
    # The warehouse: 20 + 5 + 9 received, 3 units of the first web order shipped.
    assert places["wh"].on_hand == 31 and places["ams"].on_hand == 5
    assert sum(p.units_sold for p in health.locations) == 6  # web 4, bol 1, pos 1


def test_sync_health_lists_every_connection_even_without_jobs(shop: Database) -> None:
    with shop.read() as conn:
        assert analytics.sync_health(conn) == []


def test_bad_periods_and_costs_are_refused_with_reasons(shop: Database) -> None:
    with pytest.raises(InvalidInput, match="after end"):
        Period.parse("2026-11-05", "2026-11-01")
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        Period.parse("yesterday", None)
    # Dates at the calendar's ends would overflow a window or a period's bounds.
    with pytest.raises(InvalidInput, match="period: end: 0001-01-01 is not between 1900-01-01"):
        Period.parse(None, "0001-01-01")
    with pytest.raises(InvalidInput, match="period: end: 9999-12-31 is not between"):
        Period.parse("2026-01-01", "9999-12-31")
    with shop.read() as conn, pytest.raises(InvalidInput, match="as_of: 0001-01-01"):
        analytics.inventory_health(conn, date(1, 1, 1))
    with pytest.raises(InvalidInput, match=r"cost 2 .*negative"):
        save_costs(shop, [("MUG-2", "EUR", Decimal(1)), ("MUG-3", "EUR", Decimal(-1))])
    with pytest.raises(InvalidInput, match="ISO 4217"):
        save_costs(shop, [("MUG-2", "eur", Decimal(1))])
    # Nothing of the refused batches was written: MUG-2 still has no cost.
    with shop.read() as conn:
        web = next(r for r in analytics.sales_by_channel(conn, PERIOD) if r.channel == "web")
    assert web.cost_coverage == round(19.90 / 39.80, 4)


def test_the_api_serves_json_and_csv(shop: Database) -> None:
    _, token = apikeys.create_key(shop, "reader", ["read"])
    client = TestClient(create_app(shop))
    headers = {"Authorization": f"Bearer {token}"}
    query = {"start": "2026-11-02", "end": "2026-11-03"}
    response = client.get("/api/v1/analytics/sales", params=query, headers=headers)
    assert response.status_code == 200
    web = next(row for row in response.json() if row["channel"] == "web")
    assert Decimal(web["revenue"]) == Decimal("39.80")
    response = client.get(
        "/api/v1/analytics/sales/series",
        params=query | {"interval": "day", "format": "csv"},
        headers=headers,
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {(r["bucket"], r["channel"], r["orders"]) for r in rows} >= {("2026-11-02", "web", "1")}
    bad = client.get(
        "/api/v1/analytics/sales",
        params={"start": "2026-11-09", "end": "2026-11-01"},
        headers=headers,
    )
    assert bad.status_code == 422 and "after end" in bad.json()["detail"]
    health = client.get("/api/v1/analytics/inventory", headers=headers)
    assert health.status_code == 200 and health.json()["window_days"] == 28
    assert client.post("/api/v1/analytics/refresh", headers=headers).status_code == 403


def test_the_cli_prints_tables_and_writes_csv(
    shop: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("channelhub.cli.insight.database", lambda: shop)
    runner = CliRunner()
    out = tmp_path / "sales.csv"
    result = runner.invoke(
        app, ["analytics", "sales", "--from", "2026-11-02", "--to", "2026-11-03", "--csv", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["channel"]: row for row in csv.DictReader(out.open())}
    assert rows["web"]["revenue"] == "39.80" and rows["bol"]["orders"] == "1"
    result = runner.invoke(app, ["analytics", "inventory", "--window-days", "7"])
    assert result.exit_code == 0 and "slow movers" in result.output
    result = runner.invoke(app, ["analytics", "sales", "--from", "tomorrow"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
