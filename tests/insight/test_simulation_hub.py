"""The replay of the hub's own history, from the CLI and the API, and of CSV files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.cli.main import app as cli
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.insight import simulation
from channelhub.insight.simulation.model import FULL_LISTING, INTEGRATED, Outcome
from channelhub.inventory.store import stock_movements
from channelhub.orders import service as orders
from channelhub.orders.model import LineInput, OrderInput
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock


def _history(db: Database) -> tuple[datetime, datetime]:
    """Two days ago at 10:05 two mugs arrive at the warehouse; at 10:20 the web takes both, and
    at 10:25 bol.com, which last synced at 10:15, sells one more."""
    make_world(db)
    save(db, mug("MUG-1"))
    day = datetime.now(UTC).date() - timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    stock(db, "wh", MUG_1=2)
    with db.engine.begin() as conn:  # the receipt as it happened then, not now
        conn.execute(update(stock_movements).values(created_at=start + timedelta(minutes=5)))
    for channel, ref, minutes, units in (("web", "W1", 20, 2), ("bol", "B1", 25, 1)):
        orders.import_order(
            db,
            OrderInput(
                channel=channel,
                external_id=ref,
                currency="EUR",
                lines=(LineInput("MUG-1", units, Decimal("12.50")),),
                placed_at=start + timedelta(minutes=minutes),
            ),
        )
    return start, start + timedelta(hours=1)


def test_the_hubs_history_is_read_as_it_happened(db: Database) -> None:
    start, end = _history(db)
    history = simulation.from_hub(db, start, end)
    scenario = history.scenario
    plans = {p.code: p for p in scenario.channels}
    assert plans["web"].locations == ("wh", "ams", "rtm")
    assert (plans["web"].sync_minutes, plans["bol"].sync_minutes, plans["pos"].sync_minutes) == (
        15,
        15,
        0,
    )
    assert "damaged" not in {p.code for p in scenario.places}
    # The two mugs arrived during the period: none at its start, a receipt in the stream.
    assert scenario.opening_stock.get(("wh", "MUG-1"), 0) == 0
    events = list(history.events)
    assert [type(e).__name__ for e in events] == ["Receipt", "Sale", "Sale"]
    assert [e.reference for e in events if isinstance(e, simulation.model.Sale)] == [
        "web/W1",
        "bol/B1",
    ]
    assert history.shares["web"] == 2 and history.shares["bol"] == 1


def test_the_hubs_history_replayed(db: Database) -> None:
    start, end = _history(db)
    result = simulation.run(simulation.from_hub(db, start, end))
    full = result.setups[FULL_LISTING].totals
    assert (full[Outcome.SOLD].units, full[Outcome.OVERSOLD].units) == (2, 1)
    assert full[Outcome.OVERSOLD].value == Decimal("12.50")
    (oversold,) = result.setups[FULL_LISTING].affected[Outcome.OVERSOLD]
    assert oversold.reference == "bol/B1" and oversold.order_id is not None
    integrated = result.setups[INTEGRATED].totals
    assert (integrated[Outcome.SOLD].units, integrated[Outcome.NO_STOCK].units) == (2, 1)
    assert result.moves["bol"] == Decimal("12.50")


def test_the_api_gives_figures_csv_html_and_the_lines_behind(db: Database) -> None:
    start, _ = _history(db)
    _key, token = create_key(db, "reader", ["read"])
    day = start.date().isoformat()
    with TestClient(create_app(db), headers={"Authorization": f"Bearer {token}"}) as client:
        body = client.get("/api/v1/simulate", params={"start": day, "end": day}).json()
        assert body["orders"] == 2
        assert body["setups"]["full_listing"]["figures"]["oversold"]["value"] == "12.50"
        assert body["move_first"][0] == {"channel": "bol", "saves": "12.50"}
        lines = client.get(
            "/api/v1/simulate/lines", params={"start": day, "outcome": "oversold"}
        ).json()
        assert {(ln["setup"], ln["order"]) for ln in lines} >= {("full_listing", "bol/B1")}
        csv = client.get("/api/v1/simulate", params={"start": day, "format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert "full_listing,total,,oversold,1,1,1,12.50" in csv.text
        page = client.get("/api/v1/simulate", params={"start": day, "format": "html"})
        assert "<svg" in page.text and "bol/B1" in page.text
        bad = client.get("/api/v1/simulate", params={"sync": "web=often"})
        assert bad.status_code == 422 and "CHANNEL=MINUTES" in bad.text
        unknown = client.get("/api/v1/simulate", params={"sync": "nowhere=5"})
        assert unknown.status_code == 422 and "nowhere" in unknown.text


CHANNELS = "channel,sync_minutes,locations\nweb,15,WH\nbol,15,WH\npos-ams,0,AMS\n"
STOCK = "location,sku,on_hand\nWH,TEE,3\nAMS,TEE,2\n"
LOCATIONS = "location,ships,pickup,priority\nWH,yes,no,10\nAMS,yes,yes,20\n"
ORDERS = (
    "order_id,channel,placed_at,sku,quantity,unit_price,sku_group\n"
    "P1,pos-ams,2026-11-02T00:50:00Z,TEE,1,10.00,shirts\n"  # any order: sorted on reading
    "W1,web,2026-11-02T00:01:00Z,TEE,2,10.00,shirts\n"
    "B1,bol,2026-11-02T00:05:00Z,TEE,2,10.00,shirts\n"
    "B2,bol,2026-11-02T00:20:00Z,TEE,1,10.00,shirts\n"
    "W2,web,2026-11-02T00:25:00Z,TEE,1,10.00,shirts\n"
    "W3,web,2026-11-02T00:40:00Z,TEE,1,10.00,shirts\n"
)


def _files(tmp_path: Path, orders_text: str = ORDERS) -> list[str]:
    for name, text in (
        ("channels.csv", CHANNELS),
        ("stock.csv", STOCK),
        ("locations.csv", LOCATIONS),
        ("orders.csv", orders_text),
    ):
        (tmp_path / name).write_text(text)
    return [
        "--orders",
        str(tmp_path / "orders.csv"),
        "--stock",
        str(tmp_path / "stock.csv"),
        "--channels",
        str(tmp_path / "channels.csv"),
        "--locations",
        str(tmp_path / "locations.csv"),
    ]


def test_the_cli_replays_csv_files_and_writes_the_report(tmp_path: Path) -> None:
    # The same history as test_simulation_model's tee history, so the same figures.
    html, figures, behind = tmp_path / "r.html", tmp_path / "f.csv", tmp_path / "l.csv"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            *_files(tmp_path),
            "--buffers",
            "1,2",
            "--html",
            str(html),
            "--csv",
            str(figures),
            "--lines-csv",
            str(behind),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    full = data["setups"]["full_listing"]["figures"]
    assert (full["oversold"]["orders"], full["oversold"]["value"]) == (2, "30.00")
    assert (full["lost"]["orders"], full["lost"]["value"]) == (1, "10.00")
    assert data["setups"]["split"]["figures"]["lost"]["value"] == "40.00"
    assert data["setups"]["buffered"]["buffer"] == 1
    assert data["move_first"] == [
        {"channel": "bol", "saves": "30.00"},
        {"channel": "web", "saves": "20.00"},
    ]
    assert data["setups"]["full_listing"]["by_group"]["shirts"]["oversold"]["units"] == 3
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "http" not in page
    assert "full_listing,channel,bol,oversold,1,1,2,20.00" in figures.read_text()
    assert "full_listing,oversold,W2,web,TEE,1,10.00" in behind.read_text()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("W1,web,yesterday,TEE,1,10.00,x\n", "orders.csv line 2, placed_at: not an ISO 8601 time"),
        ("W1,web,2026-11-02T00:01:00Z,TEE,0,10.00,x\n", "line 2, quantity: must be at least 1"),
        ("W1,app,2026-11-02T00:01:00Z,TEE,1,10.00,x\n", "line 2, channel: 'app' is not in"),
        ("W1,web,2026-11-02T00:01:00Z,TEE,1,NaN,x\n", "line 2, unit_price: must be a finite"),
    ],
)
def test_a_bad_csv_line_is_named(tmp_path: Path, bad: str, message: str) -> None:
    orders_text = "order_id,channel,placed_at,sku,quantity,unit_price,sku_group\n" + bad
    result = CliRunner().invoke(cli, ["simulate", *_files(tmp_path, orders_text)])
    assert result.exit_code == 2
    assert message in result.output


def test_missing_columns_are_named(tmp_path: Path) -> None:
    args = _files(tmp_path)
    (tmp_path / "stock.csv").write_text("location,sku\nWH,TEE\n")
    with pytest.raises(InvalidInput, match=r"stock\.csv: missing column"):
        simulation.from_csv(*(Path(args[i]) for i in (1, 3, 5)))


def test_the_admin_page_shows_the_report_with_links_to_the_orders(db: Database) -> None:
    from channelhub.admin.users import Role, create_user
    from tests.admin.test_pages import PASSWORD, sign_in

    start, _ = _history(db)
    create_user(db, "merch1", PASSWORD, Role.MERCHANDISER)
    create_user(db, "stock1", PASSWORD, Role.STOCK)
    day = start.date().isoformat()
    with TestClient(create_app(db)) as client:
        sign_in(client, "stock1")
        assert client.get("/admin/simulate").status_code == 403
    with TestClient(create_app(db)) as client:
        sign_in(client, "merch1")
        page = client.get("/admin/simulate", params={"start": day, "end": day})
        assert page.status_code == 200
        assert 'data-testid="cost-chart"' in page.text and "<svg" in page.text
        (order_id,) = set(re.findall(r'href="/admin/orders/(\d+)">bol/B1<', page.text))
        assert client.get(f"/admin/orders/{order_id}").status_code == 200
        bad = client.get("/admin/simulate", params={"sync": "web=sometimes"})
        assert bad.status_code == 200 and "CHANNEL=MINUTES" in bad.text


def test_the_demo_retailers_history_replays_with_its_stock(sqlite_db: Database) -> None:
    """The demo's 90 days come with their stock side (weekly receipts, each sale's units), so
    the ledger stays sound and the replay sells most of what was sold then."""
    from channelhub.core.migrate import upgrade
    from channelhub.demo.history import seed_history
    from channelhub.demo.load import load_live_retailer
    from channelhub.inventory.service import check_ledger

    upgrade(sqlite_db)
    load_live_retailer(sqlite_db)
    seed_history(sqlite_db, days=14)
    assert check_ledger(sqlite_db) == []
    now = datetime.now(UTC)
    result = simulation.run(simulation.from_hub(sqlite_db, now - timedelta(days=15), now))
    full = result.setups[FULL_LISTING].totals
    assert full[Outcome.SOLD].orders > 0.9 * result.orders
    assert result.setups[INTEGRATED].totals[Outcome.OVERSOLD].orders == 0
