"""The live demo, run briefly on a temporary SQLite database: orders arrive from every channel
through the engine and the APIs, the narrated scenes have their effects in the hub and in the
webshop's sandbox, and everything stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

from channelhub.admin.users import authenticate
from channelhub.apikeys.service import authenticate as apikey_of
from channelhub.apikeys.service import list_keys
from channelhub.cli.main import app
from channelhub.core.database import Database, utcnow
from channelhub.core.migrate import upgrade
from channelhub.core.settings import get_settings
from channelhub.customers.journeys import profiles
from channelhub.customers.order_hook import link_all_orders
from channelhub.demo.load import load_live_retailer
from channelhub.demo.runner import DemoOptions, Narrator, run_demo
from channelhub.demo.traffic import CHANNEL_WEIGHTS, LAST_UNIT, REPRICED, RETURNED
from channelhub.insight.analytics import Period
from channelhub.insight.crosschannel import journeys
from channelhub.inventory.service import stock_levels
from channelhub.orders.model import OrderStatus
from channelhub.orders.service import get_order, list_orders
from channelhub.sandbox.server import free_port


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "demo-test-secret-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def demo_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(db)
    load_live_retailer(db)
    yield db
    db.dispose()


def on_hand(db: Database, sku: str, location: str) -> int:
    return sum(level.on_hand for level in stock_levels(db, sku=sku, location=location))


def test_one_round_of_the_live_demo(demo_db: Database) -> None:
    db = demo_db
    lines: list[str] = []
    # settle: Amazon's orders are polled every 30 s; the run waits for the last ones.
    options = DemoOptions(duration=60, pace=4, seed=3, rounds=1, settle=60)
    report = run_demo(db, options, Narrator(out=lines.append))

    assert report.problems == [] and report.worker_error is None, lines
    # Clean shutdown: no server, worker or traffic thread of the demo is left running.
    assert report.threads_left == []
    assert not [t for t in threading.enumerate() if t.name.startswith(("demo:", "sandbox:"))]

    # Orders from every channel reached the hub (webhook, polls, the order API, the POS API).
    for channel in CHANNEL_WEIGHTS:
        assert list_orders(db, channel=channel)[0], f"no order from {channel}: {lines}"

    # The price change reached the Shopify sandbox through the engine.
    [price] = report.narrator.of_kind("price_change")
    variant = report.sandboxes.shopify.variant_by_sku(REPRICED)
    assert variant is not None and variant.price == price.facts["price"] != price.facts["before"]

    # The last unit was sold once: either the till (201) or the webshop order holds it.
    [race] = report.narrator.of_kind("last_unit")
    web = get_order(db, race.facts["web_order_id"])
    till_won = race.facts["till_status"] == 201
    web_won = web.status not in (OrderStatus.BACKORDERED, OrderStatus.REJECTED)
    assert till_won != web_won, race.message
    assert race.facts["till_status"] in (201, 409)
    # The unit left Amsterdam's shelf: sold at the till, or shipped to the web buyer.
    web = get_order(db, race.facts["web_order_id"])
    shipped = web.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    assert on_hand(db, LAST_UNIT, "ams") == (0 if till_won or shipped else 1)
    assert on_hand(db, LAST_UNIT, "wh") == on_hand(db, LAST_UNIT, "rtm") == 0
    assert report.sandboxes.shopify.available(LAST_UNIT) is not None

    # Click and collect: held at the Rotterdam store, then collected there.
    [collect] = report.narrator.of_kind("click_and_collect")
    collected = get_order(db, collect.facts["order_id"])
    assert collect.facts["reserved_at"] == ["rtm"]
    assert collected.status == OrderStatus.COLLECTED and collected.pickup_location == "rtm"

    # The return in store of a webshop order put the unit on Amsterdam's shelf.
    [taken_back] = report.narrator.of_kind("return_in_store")
    assert taken_back.facts["after"] == taken_back.facts["before"] + 1
    returned = get_order(db, taken_back.facts["order_id"])
    assert returned.channel == "webshop" and returned.returns
    assert [line.sku for line in returned.lines] == [RETURNED]
    assert on_hand(db, RETURNED, "ams") >= taken_back.facts["after"]

    # Researched in the app, bought at the Amsterdam till: the cross-channel journey counts it
    # once the sale is linked to Sanne's profile.
    [research] = report.narrator.of_kind("research_online")
    assert research.facts["till_status"] == 201, research.message
    link_all_orders(db)
    with db.read() as conn:
        assert (
            profiles.order_profile(conn, research.facts["order_id"])
            == (research.facts["profile_id"])
        )
        today = Period(utcnow().date(), utcnow().date())
        found = {f.journey: f for f in journeys(conn, today)}
    assert found["researched_online_bought_in_store"].occurrences >= 1
    assert found["bought_online_collect_in_store"].occurrences >= 1
    assert found["bought_online_returned_in_store"].occurrences >= 1


def test_demo_command_loads_twice_and_prints_the_admin_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    for _ in range(2):  # idempotent on an existing demo database
        result = runner.invoke(app, ["demo", "--no-serve"])
        assert result.exit_code == 0, result.output
    assert "web admin: http://127.0.0.1:8000/admin" in result.output
    password = result.output.split("password: ", 1)[1].split()[0]
    db = Database(url)
    try:
        assert authenticate(db, "admin", password) is not None
        # Only the seeded history, once however often the demo loads: no live order yet.
        history, _ = list_orders(db, limit=1000)
        assert history and all(o.external_id.startswith("HIST-") for o in history)
        assert len({o.external_id for o in history}) == len(history)
        # Each start prints a new API key; the previous one no longer works.
        token = result.output.split("demo API key (admin): ", 1)[1].split()[0]
        demo_keys = [k for k in list_keys(db) if k.name == "demo"]
        assert len(demo_keys) == 2 and [k.revoked_at is None for k in demo_keys] == [False, True]
        assert apikey_of(db, token).name == "demo"
    finally:
        db.dispose()


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_cleanly(tmp_path: Path) -> None:
    """``channelhub demo`` as a person runs it: live, then Ctrl-C; exit status 0, no traceback."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHANNELHUB_")}
    env |= {"CHANNELHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}", "PYTHONUNBUFFERED": "1"}
    command = [str(Path(sys.executable).parent / "channelhub"), "demo", "--port", str(free_port())]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output: list[str] = []
    live = threading.Event()

    def read(stream: IO[str]) -> None:
        for line in stream:
            output.append(line)
            if "the hub is live" in line:
                live.set()

    reader = threading.Thread(target=read, args=(process.stdout,))
    reader.start()
    try:
        assert live.wait(120), "".join(output)  # migrate, load, seed 90 days, start
        time.sleep(2)  # traffic flowing
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(10)
    text = "".join(output)
    assert "Traceback" not in text and "demo stopped cleanly" in text, text
    assert "password: " in text


def test_demo_for_a_while_stops_by_itself_and_ends_with_one_json_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``channelhub demo --for SECONDS``: stops cleanly by itself, and its last line is the
    summary; the exit status is 0 only when nothing unplanned went wrong."""
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'timed.db'}")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["demo", "--for", "20", "--port", str(free_port())])
    last = result.output.strip().splitlines()[-1]
    summary = json.loads(last)
    assert result.exit_code == (1 if summary["unplanned_count"] else 0), result.output
    assert summary["unplanned"] == [], result.output
    assert summary["unplanned_count"] == 0 and summary["worker_restarts"] == 0
    # Shoppers ordered, and every order placed on a channel reached the hub.
    assert sum(counts["placed"] for counts in summary["orders"].values()) > 0
    for channel, counts in summary["orders"].items():
        assert counts["in_hub"] >= counts["placed"], channel
    assert summary["deliveries"]["done"] > 0
    # The planted product without an EAN shows where it should, apart from the rest.
    planted = summary["planted"]["product_without_ean"]
    assert planted["findings"] >= 1 and planted["dead_letters"] == summary["dead_letters"]
    assert summary["audit"]["approved_not_published"] >= 1
    assert not [t for t in threading.enumerate() if t.name.startswith(("demo:", "sandbox:"))]
