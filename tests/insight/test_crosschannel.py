"""Cross-channel analytics against a hand-computed world of five customers (EUR):

- Ann puts MUG-2 in an app cart, buys MUG-1 on the web (10.00) and MUG-2 at the till (15.00):
  multichannel, online and store, and her till sale was researched online.
- Bob buys MUG-1 (10.00) and SHIRT-1 (25.00) on the web, returns the shirt in the Amsterdam
  store, and has a third web order cancelled: single channel, online only.
- Cat buys SHIRT-1 at the till (25.00) without any cart: single channel, store only.
- Dan buys MUG-2 on the web (15.00) as one profile and MUG-1 on bol (12.00) as another; the two
  profiles are merged: one multichannel customer, online only.
- Eve opens a cart in the app, has it picked up at the Amsterdam till, and buys it on the web
  to collect in the store (MUG-1, 10.00).
- One web order (MUG-1, 10.00) is linked to nobody.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.cli.main import app
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput
from channelhub.customers import service as customers
from channelhub.customers.journeys import carts, segments
from channelhub.customers.journeys.checkout import CheckoutRequest, checkout
from channelhub.customers.journeys.store import carts as cart_table
from channelhub.insight import crosschannel
from channelhub.insight.analytics import Period
from channelhub.insight.crosschannel import (
    RESEARCH_WINDOW_DAYS,
    customer_value,
    journeys,
    segment_channel_mix,
)
from channelhub.orders import service as orders
from channelhub.orders.fulfilment import ReturnItem, cancel, return_items, ship
from channelhub.orders.model import DeliveryMethod, PaymentStatus
from tests.customers.journeys.conftest import buy, customer, link, make_shop

EUR = Decimal


@pytest.fixture
def world(db: Database) -> Database:
    make_shop(db)
    ann = customer(db, "ann@example.com")
    cart = carts.open_cart(db, "app", ann)
    carts.add_line(db, cart.token, "MUG-2", 1, "app", hold=False)
    buy(db, "W-ANN", ("MUG-1", 1), profile_id=ann)
    buy(db, "P-ANN", ("MUG-2", 1), channel="pos", store="ams", profile_id=ann)

    bob = customer(db, "bob@example.com")
    buy(db, "W-BOB1", ("MUG-1", 1), profile_id=bob)
    shirt = buy(db, "W-BOB2", ("SHIRT-1", 1), profile_id=bob)
    ship(db, shirt, "test", location="wh")
    line = orders.get_order(db, shirt).lines[0]
    return_items(db, shirt, "ams", [ReturnItem(line.line_no, 1)], actor="test")
    cancel(db, buy(db, "W-BOB3", ("MUG-2", 1), profile_id=bob), actor="test")

    cat = customer(db, "cat@example.com", channel="pos")
    buy(db, "P-CAT", ("SHIRT-1", 1), channel="pos", store="ams", profile_id=cat)

    dan_web = customer(db, "dan@example.com")
    dan_bol = customer(db, "dan.bol@example.com", channel="bol")
    buy(db, "W-DAN", ("MUG-2", 1), profile_id=dan_web)
    buy(db, "B-DAN", ("MUG-1", 1), channel="bol", profile_id=dan_bol, price="12.00")
    customers.merge(db, dan_web, dan_bol, actor="test")

    eve = customer(db, "eve@example.com", channel="app")
    eve_cart = carts.open_cart(db, "app", eve)
    carts.add_line(db, eve_cart.token, "MUG-1", 1, "app", hold=False)
    carts.pick_up(db, eve_cart.token, "ams", "pos")
    bought = checkout(
        db,
        eve_cart.token,
        CheckoutRequest("web", DeliveryMethod.PICKUP, "ams", payment_status=PaymentStatus.PAID),
    )
    link(db, bought.order_id, eve)

    buy(db, "W-GUEST", ("MUG-1", 1))
    return db


@pytest.fixture
def api(world: Database) -> Iterator[TestClient]:
    _key, token = create_key(world, "test", ["read"])
    with TestClient(create_app(world), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def today() -> Period:
    day = utcnow().date()
    return Period(day, day)


def test_multichannel_customers_against_single_channel_ones(world: Database) -> None:
    with world.read() as conn:
        rows = {(r.dimension, r.group): r for r in customer_value(conn, today())}
    multi = rows["channels", "multichannel"]  # Ann 25.00 and Dan 27.00
    assert (multi.customers, multi.orders, multi.revenue) == (2, 4, EUR("52.00"))
    assert multi.revenue_per_customer == EUR("26.00")
    assert multi.orders_per_customer == 2.0
    assert multi.average_order_value == EUR("13.00")
    assert multi.share_of_customers == 0.4
    single = rows["channels", "single_channel"]  # Bob 35.00, Cat 25.00, Eve 10.00
    assert (single.customers, single.orders, single.revenue) == (3, 4, EUR("70.00"))
    assert single.net_revenue == EUR("45.00")  # Bob's shirt was refunded
    assert single.revenue_per_customer == EUR("23.33")
    assert single.orders_per_customer == round(4 / 3, 4)
    assert single.share_of_customers == 0.6
    assert single.share_of_revenue == round(70 / 132, 4)
    guest = rows["channels", "not_linked"]
    assert (guest.customers, guest.orders, guest.revenue) == (0, 1, EUR("10.00"))
    assert guest.share_of_customers is None
    assert guest.share_of_revenue == round(10 / 132, 4)


def test_online_store_and_both(world: Database) -> None:
    with world.read() as conn:
        rows = {
            r.group: (r.customers, r.orders, r.revenue)
            for r in customer_value(conn, today())
            if r.dimension == "reach"
        }
    assert rows == {
        "online_only": (3, 5, EUR("72.00")),  # Bob, Dan, Eve
        "store_only": (1, 1, EUR("25.00")),  # Cat
        "online_and_store": (1, 2, EUR("25.00")),  # Ann
        "not_linked": (0, 1, EUR("10.00")),
    }


def test_journeys_across_channels(world: Database) -> None:
    with world.read() as conn:
        found = {f.journey: (f.occurrences, f.customers, f.value) for f in journeys(conn, today())}
    assert found == {
        "researched_online_bought_in_store": (1, 1, EUR("15.00")),  # Ann, not Cat
        "bought_online_collect_in_store": (1, 1, EUR("10.00")),  # Eve
        "bought_online_returned_in_store": (1, 1, EUR("25.00")),  # Bob's shirt
        "researched_in_store_bought_online": (1, 1, EUR("10.00")),  # Eve's cart at the till
        "cart_moved_across_channels": (1, 1, EUR("10.00")),  # app -> web
    }


def test_research_is_a_recent_online_cart_holding_a_product_of_the_sale(world: Database) -> None:
    def research() -> tuple[int, int, Decimal]:
        with world.read() as conn:
            found = {f.journey: f for f in journeys(conn, today())}
        ropo = found["researched_online_bought_in_store"]
        return ropo.occurrences, ropo.customers, ropo.value

    # Ann buys a shirt at the till too: it was not in her app cart, so it is no research.
    ann = customer(world, "ann@example.com")
    buy(world, "P-ANN2", ("SHIRT-1", 1), channel="pos", store="ams", profile_id=ann)
    assert research() == (1, 1, EUR("15.00"))
    # A cart last touched more than 30 days before the sale does not count either.
    long_ago = utcnow() - timedelta(days=RESEARCH_WINDOW_DAYS + 1)
    with world.transaction() as conn:
        conn.execute(
            update(cart_table)
            .where(cart_table.c.channel == "app", cart_table.c.status == "active")
            .values(created_at=long_ago, updated_at=long_ago)
        )
    assert research() == (0, 0, EUR("0.00"))


def test_a_period_without_journeys_lists_them_with_zeros(world: Database) -> None:
    day = today().start.replace(year=today().start.year + 1)
    with world.read() as conn:
        empty = journeys(conn, Period(day, day))
    assert [f.journey for f in empty] == list(crosschannel.JOURNEYS)
    assert all((f.occurrences, f.customers, f.value) == (0, 0, 0) for f in empty)


def test_channel_mix_per_segment_before_and_after_scoring(world: Database) -> None:
    with world.read() as conn:
        before = segment_channel_mix(conn, today())
    assert {r.segment for r in before} == {"unscored"}
    by_channel = {r.channel: (r.customers, r.orders, r.revenue) for r in before}
    assert by_channel == {
        "web": (4, 5, EUR("70.00")),  # Ann, Bob (2), Dan, Eve
        "pos": (2, 2, EUR("40.00")),  # Ann, Cat
        "bol": (1, 1, EUR("12.00")),  # Dan
    }
    assert {r.channel: r.share_of_segment_revenue for r in before}["web"] == round(70 / 122, 4)
    assert {(r.segment_customers, r.multichannel_customers) for r in before} == {(5, 2)}

    segments.compute_segments(world)
    with world.read() as conn:
        after = segment_channel_mix(conn, today())
    assert "unscored" not in {r.segment for r in after}
    sizes = {r.segment: r.segment_customers for r in after}
    assert sum(sizes.values()) == 5
    assert sum(r.revenue for r in after if r.channel == "web") == EUR("70.00")
    for name in sizes:
        shares = [r.share_of_segment_revenue or 0 for r in after if r.segment == name]
        assert sum(shares) == pytest.approx(1, abs=0.001)


def test_api_and_csv(world: Database, api: TestClient) -> None:
    day = utcnow().date().isoformat()
    value = api.get("/api/v1/analytics/customers", params={"start": day, "end": day})
    assert value.status_code == 200, value.text
    multi = next(r for r in value.json() if r["group"] == "multichannel")
    assert (multi["customers"], multi["revenue"]) == (2, "52.00")
    paths = api.get("/api/v1/analytics/journeys", params={"start": day, "end": day}).json()
    assert {r["journey"]: r["occurrences"] for r in paths}["bought_online_returned_in_store"] == 1
    mix = api.get(
        "/api/v1/analytics/segments/channels", params={"start": day, "end": day, "format": "csv"}
    )
    assert mix.headers["content-type"].startswith("text/csv")
    header, *lines = mix.text.strip().splitlines()
    assert header.split(",")[:4] == [
        "segment",
        "segment_customers",
        "multichannel_customers",
        "channel",
    ]
    assert len(lines) == 3
    bad = api.get("/api/v1/analytics/journeys", params={"start": day, "end": "2000-01-01"})
    assert bad.status_code == 422 and "is after end" in bad.text


def test_cli(world: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("channelhub.cli.insight.database", lambda: world)
    day = utcnow().date().isoformat()
    out = tmp_path / "customers.csv"
    result = CliRunner().invoke(
        app, ["analytics", "customers", "--from", day, "--to", day, "--csv", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    multi = next(r for r in rows if r["group"] == "multichannel")
    assert (multi["customers"], multi["revenue"]) == ("2", "52.00")
    result = CliRunner().invoke(app, ["analytics", "journeys", "--from", day, "--to", "x"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
    result = CliRunner().invoke(app, ["analytics", "segments", "--from", day, "--to", day])
    assert result.exit_code == 0 and "12.00" in result.output  # bol, in the table


def test_snapshots_are_served_until_they_age_and_fresh_computes_now(
    world: Database, api: TestClient
) -> None:
    day = utcnow().date().isoformat()
    query = {"start": day, "end": day}
    first = api.get("/api/v1/analytics/customers", params=query)
    computed_at = first.headers["X-Computed-At"]
    # A new web order of a known customer: the snapshot still answers as it was...
    buy(world, "W-LATE", ("MUG-1", 1), profile_id=customer(world, "bob@example.com"))
    again = api.get("/api/v1/analytics/customers", params=query)
    assert again.headers["X-Computed-At"] == computed_at and again.json() == first.json()
    # ...until asked for a fresh one, which is then stored for the next reader.
    fresh = api.get("/api/v1/analytics/customers", params={**query, "fresh": "true"})
    assert fresh.headers["X-Computed-At"] > computed_at
    single = next(r for r in fresh.json() if r["group"] == "single_channel")
    assert (single["orders"], single["revenue"]) == (5, "80.00")
    served = crosschannel.snapshot(world, "customers", today())
    assert served.computed_at.isoformat() == fresh.headers["X-Computed-At"]
    assert next(r for r in served.rows if r.group == "single_channel").revenue == EUR("80.00")
    # An aged snapshot is computed again.
    assert crosschannel.snapshot(world, "customers", today(), timedelta(0)).computed_at > (
        served.computed_at
    )
    with pytest.raises(InvalidInput, match="report 'nope'"):
        crosschannel.snapshot(world, "nope", today())


def test_the_worker_keeps_the_dashboard_periods_computed(world: Database) -> None:
    assert crosschannel.refresh_windows(world) == len(crosschannel.WINDOWS) * 3
    assert crosschannel.refresh_windows(world) == 0  # all younger than their lifetime
    last_week = crosschannel.snapshot(
        world, "journeys", Period(today().end - timedelta(days=6), today().end)
    )
    assert {f.journey: f.occurrences for f in last_week.rows}["cart_moved_across_channels"] == 1


def test_a_snapshot_lives_longer_the_more_it_cost() -> None:
    assert crosschannel.lifetime(0.001) == crosschannel.MIN_AGE == timedelta(seconds=30)
    assert crosschannel.lifetime(2.0) == timedelta(minutes=4)  # 120 times the cost
    assert crosschannel.lifetime(60.0) == crosschannel.MAX_AGE == timedelta(minutes=30)


def test_an_outlived_snapshot_is_computed_again(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = crosschannel.snapshot(world, "journeys", today())
    assert crosschannel.snapshot(world, "journeys", today()).computed_at == first.computed_at
    monkeypatch.setattr(crosschannel, "MIN_AGE", timedelta(0))
    monkeypatch.setattr(crosschannel, "COST_FACTOR", 0)
    assert crosschannel.snapshot(world, "journeys", today()).computed_at > first.computed_at
