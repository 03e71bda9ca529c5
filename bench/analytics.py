"""Dashboard queries over a year of orders of a mid-size retailer.

Seeds N orders (default 1,000,000; two lines on average) spread over 365 days and 6 channels,
10,000 SKUs with stock in 4 locations, and the customer side: N/4 customer profiles (2% of
them merged into another), 85% of the orders linked to a customer who keeps to one to three
channels, click-and-collect orders, returns in stores, and N/10 carts (a third of them
checked out). Rows are written straight into the store with driver-level executemany. Then it
builds the rollups and times each dashboard query as the API runs it. Prints one line per
query and, last, one JSON object with every timing and ``slowest_s``.

    python bench/analytics.py                       # SQLite, 1,000,000 orders
    python bench/analytics.py --orders 200000 --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import text

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.bulk import BulkInsert
from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.customers import store as customers_store
from channelhub.customers.journeys import store as journeys_store
from channelhub.insight import analytics, crosschannel, rollup
from channelhub.insight.analytics import Interval, Period
from channelhub.insight.audit import run_audit
from channelhub.inventory import service as inventory
from channelhub.inventory import store as inventory_store
from channelhub.inventory.model import Address, LocationKind
from channelhub.orders import store as orders_store

CHANNELS = [
    ("web", ChannelKind.WEBSHOP),
    ("app", ChannelKind.APP),
    ("bol", ChannelKind.MARKETPLACE),
    ("amazon", ChannelKind.MARKETPLACE),
    ("pos_ams", ChannelKind.STORE),
    ("pos_rtm", ChannelKind.STORE),
]
LOCATIONS = [
    ("wh", LocationKind.WAREHOUSE),
    ("wh2", LocationKind.WAREHOUSE),
    ("ams", LocationKind.STORE),
    ("rtm", LocationKind.STORE),
]
SKUS = 10_000
END = date(2026, 10, 31)


def seed(db: Database, count: int, rng: random.Random) -> None:
    catalog.add_locale(db, "nl_NL")
    for code, kind in CHANNELS:
        catalog.save_channel(
            db,
            catalog.ChannelInput(code, code, kind, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"),
        )
    for code, kind in LOCATIONS:
        inventory.save_location(
            db,
            inventory.LocationInput(code, code, kind, Address("", "", "", "NL", None, None)),
        )
    for code, _ in CHANNELS:
        links = ["ams"] if code == "pos_ams" else ["rtm"] if code == "pos_rtm" else ["wh", "wh2"]
        inventory.link_channel(db, code, [inventory.ChannelLink(c) for c in links])
    with db.read() as conn:
        channel_ids = [
            conn.execute(text("SELECT id FROM channels WHERE code = :c"), {"c": c}).scalar_one()
            for c, _ in CHANNELS
        ]
        location_ids = [
            conn.execute(text("SELECT id FROM locations WHERE code = :c"), {"c": c}).scalar_one()
            for c, _ in LOCATIONS
        ]
    now = datetime.now(UTC)
    with db.transaction() as conn:
        levels = BulkInsert(
            conn,
            inventory_store.stock_levels,
            ["sku", "location_id", "pool", "on_hand", "reserved", "safety", "updated_at"],
        )
        levels.run(
            [
                (f"SKU-{s:05d}", loc, "", rng.randint(0, 60), 0, 0, now)
                for s in range(SKUS)
                for loc in location_ids
            ]
        )
    order_columns = [
        "id", "channel_id", "external_id", "status", "delivery_method", "payment_status",
        "currency", "total_minor", "refunded_minor", "customer", "billing_address",
        "shipping_address", "notes", "fingerprint", "lines_fingerprint", "placed_at",
        "created_at", "updated_at",
    ]  # fmt: skip
    line_columns = [
        "order_id", "line_no", "sku", "quantity", "unit_price_minor", "discount_minor",
        "tax_minor", "shipped", "returned", "cancelled", "external_line_id",
    ]  # fmt: skip
    start = datetime.combine(END - timedelta(days=364), datetime.min.time(), tzinfo=UTC)
    weights = [30, 15, 20, 15, 10, 10]
    store_channels = {channel_ids[4]: location_ids[2], channel_ids[5]: location_ids[3]}
    profiles = seed_customers(db, count // 4, now, rng)
    # Each customer keeps to one to three channels (two in three keep to one).
    habits = [
        rng.choices(channel_ids, weights, k=rng.choice((1, 1, 1, 1, 2, 2, 3)))
        for _ in range(profiles)
    ]
    chunk = 20_000
    for first in range(1, count + 1, chunk):
        order_rows, line_rows, link_rows, return_rows = [], [], [], []
        for oid in range(first, min(first + chunk, count + 1)):
            placed = start + timedelta(seconds=rng.randrange(365 * 86400))
            customer = int(profiles * rng.random() ** 2) + 1 if rng.random() < 0.85 else None
            if customer is None:
                channel = rng.choices(channel_ids, weights)[0]
            else:
                channel = rng.choice(habits[customer - 1])
                link_rows.append((oid, customer, customer, placed))
            method = "in_store" if channel in store_channels else "ship"
            if method == "ship" and rng.random() < 0.1:
                method = "pickup"
            status = "cancelled" if rng.random() < 0.03 else "shipped"
            total = 0
            for line_no in range(1, rng.choice((1, 1, 2, 2, 3, 3)) + 1):
                quantity = rng.choice((1, 1, 1, 2))
                price = rng.randrange(500, 9000)
                returned = 1 if rng.random() < 0.05 else 0
                total += quantity * price
                line_rows.append(
                    (oid, line_no, f"SKU-{int(SKUS * rng.random() ** 3):05d}", quantity,
                     price, 0, 0, quantity, returned, 0, None)
                )  # fmt: skip
            refunded = 0
            if status == "shipped" and method != "in_store" and rng.random() < 0.03:
                refunded = total
                store = rng.choice(location_ids[2:])
                return_rows.append((oid, store, total, "", [], placed + timedelta(days=5)))
            order_rows.append(
                (oid, channel, f"O{oid}", status, method, "paid", "EUR", total, refunded, {}, {},
                 {}, {}, "f", "f", placed, placed, placed)
            )  # fmt: skip
        with db.transaction() as conn:
            BulkInsert(conn, orders_store.orders, order_columns).run(order_rows)
            BulkInsert(conn, orders_store.order_lines, line_columns).run(line_rows)
            BulkInsert(
                conn,
                customers_store.customer_order_links,
                ["order_id", "profile_id", "record_id", "created_at"],
            ).run(link_rows)
            BulkInsert(
                conn,
                orders_store.returns,
                ["order_id", "location_id", "refund_minor", "reason", "lines", "created_at"],
            ).run(return_rows)
    seed_carts(db, count // 10, profiles, count, start, rng)


def seed_customers(db: Database, count: int, now: datetime, rng: random.Random) -> int:
    """``count`` profiles with a record each; 2% merged into an older profile."""
    with db.transaction() as conn:
        BulkInsert(
            conn,
            customers_store.customer_profiles,
            ["id", "created_at", "updated_at", "merged_into", "golden"],
        ).run(
            [
                (pid, now, now, rng.randrange(1, pid) if pid > 1 and rng.random() < 0.02 else None,
                 {})
                for pid in range(1, count + 1)
            ]
        )  # fmt: skip
        BulkInsert(
            conn,
            customers_store.customer_records,
            ["id", "profile_id", "home_profile_id", "channel", "source_ref", "attributes",
             "seen_count", "observed_at", "created_at"],
        ).run(
            [(pid, pid, pid, "web", f"account:{pid}", {}, 1, now, now)
             for pid in range(1, count + 1)]
        )  # fmt: skip
    return count


def seed_carts(
    db: Database, count: int, profiles: int, orders: int, start: datetime, rng: random.Random
) -> None:
    """``count`` carts of known customers on the web or in the app, one or two lines each;
    a third checked out into an order, some picked up at a store's till."""
    cart_rows, line_rows = [], []
    for cid in range(1, count + 1):
        created = start + timedelta(seconds=rng.randrange(365 * 86400))
        order_id = rng.randrange(1, orders + 1) if rng.random() < 0.33 else None
        location = rng.choice(("ams", "rtm")) if rng.random() < 0.05 else None
        cart_rows.append(
            (cid, f"t{cid}", int(profiles * rng.random() ** 2) + 1, rng.choice(("web", "app")),
             "web", location, "checked_out" if order_id else "active", "EUR", order_id,
             created, created + timedelta(hours=rng.randrange(1, 72)))
        )  # fmt: skip
        for sku in {f"SKU-{int(SKUS * rng.random() ** 3):05d}" for _ in range(rng.choice((1, 2)))}:
            line_rows.append((cid, sku, 1, "web", created))
    with db.transaction() as conn:
        BulkInsert(
            conn,
            journeys_store.carts,
            ["id", "token", "profile_id", "channel", "last_channel", "location", "status",
             "currency", "order_id", "created_at", "updated_at"],
        ).run(cart_rows)  # fmt: skip
        BulkInsert(
            conn, journeys_store.cart_lines, ["cart_id", "sku", "quantity", "channel", "updated_at"]
        ).run(line_rows)


def timed(name: str, run: Callable[[], Any], timings: dict[str, float]) -> Any:
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    timings[name] = round(seconds, 4)
    print(f"{name:<36} {seconds * 1000:9.1f} ms", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'analytics.db'}"
        db = Database(url)
        upgrade(db)
        rng = random.Random(args.seed)
        started = time.perf_counter()
        seed(db, args.orders, rng)
        seed_s = time.perf_counter() - started
        print(f"seeded {args.orders:,} orders in {seed_s:.1f} s", flush=True)
        build: dict[str, float] = {}
        timed("rollup: rebuild from orders", lambda: rollup.refresh(db, rebuild=True), build)
        timed("rollup: refresh, nothing changed", lambda: rollup.refresh(db), build)
        year = Period(END - timedelta(days=364), END)
        month = Period(END - timedelta(days=29), END)
        queries: dict[str, Callable[[Any], Any]] = {
            "sales per channel, 30 days": lambda c: analytics.sales_by_channel(c, month),
            "sales per channel, a year": lambda c: analytics.sales_by_channel(c, year),
            "sales by day, a year": lambda c: analytics.sales_over_time(c, year, Interval.DAY),
            "sales by week, a year": lambda c: analytics.sales_over_time(c, year, Interval.WEEK),
            "sales by month, one channel": lambda c: analytics.sales_over_time(
                c, year, Interval.MONTH, "web"
            ),
            "inventory health, 28 days": lambda c: analytics.inventory_health(c, END, 28),
            "sync health": lambda c: analytics.sync_health(c),
        }
        timings: dict[str, float] = {}
        for name, query in queries.items():

            def run(query: Callable[[Any], Any] = query) -> Any:
                with db.read() as conn:
                    return query(conn)

            timed(name, run, timings)
        # Cross-channel reports read every order of the period: the worker computes them
        # (timed here as "compute") and the dashboard and the API serve the snapshot.
        computed: dict[str, float] = {}
        for report in crosschannel.REPORTS:
            for label, period in (("30 days", month), ("a year", year)):
                timed(
                    f"compute {report}, {label}",
                    lambda r=report, p=period: crosschannel.compute(db, r, p),
                    computed,
                )
                timed(
                    f"{report}, {label} (snapshot)",
                    lambda r=report, p=period: crosschannel.snapshot(db, r, p),
                    timings,
                )
        audit = timed("audit (no read-back)", lambda: run_audit(db), {})
        db.engine.dispose()
    print(
        json.dumps(
            {
                "orders": args.orders,
                "database": "sqlite" if args.database_url is None else "postgresql",
                "seed_s": round(seed_s, 1),
                "rollup_rebuild_s": build["rollup: rebuild from orders"],
                "queries_s": timings,
                "crosschannel_compute_s": computed,
                "audit_s": round(audit.seconds, 4),
                "audit_checked": sum(score.checked for score in audit.scores),
                "slowest_s": max(timings.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
