"""Order burst: N orders from 8 channels in several processes against scarce shared stock.

Every order goes through the service layer (``orders.service.import_order``: one transaction
that stores it, reserves stock by conditional UPDATEs and writes its events). Total stock is
below demand, so many orders end backordered; none may be oversold. The raw limit is the same
database doing only the conditional UPDATE, one per transaction, in the same number of
processes. Prints one JSON object as its last line.

    python bench/order_burst.py                      # SQLite, 20,000 orders
    python bench/order_burst.py --orders 2000 --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.inventory import service as inventory
from channelhub.inventory import store as inventory_store
from channelhub.inventory.model import Address, LocationKind
from channelhub.orders import service as orders
from channelhub.orders import store as orders_store
from channelhub.orders.model import LineInput, OrderInput, PostalAddress

CHANNEL_KINDS = [ChannelKind.WEBSHOP, ChannelKind.MARKETPLACE, ChannelKind.APP, ChannelKind.SOCIAL]
LOCATIONS = [
    ("wh-utrecht", LocationKind.WAREHOUSE, 52.09, 5.12, 10),
    ("wh-venlo", LocationKind.WAREHOUSE, 51.37, 6.17, 10),
    ("store-ams", LocationKind.STORE, 52.37, 4.89, 20),
    ("store-rtm", LocationKind.STORE, 51.92, 4.48, 20),
]


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A fresh database: a temporary SQLite file, or a new database on the given server."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            yield url or f"sqlite:///{tmp}/bench.db"
        return
    admin_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"chbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def setup(db: Database, channels: int, skus: int, stock_per_sku: list[int]) -> None:
    catalog.add_locale(db, "nl_NL")
    for i in range(channels):
        code = f"ch{i}"
        kind = CHANNEL_KINDS[i % len(CHANNEL_KINDS)]
        spec = catalog.ChannelInput(code, code, kind, ChannelMode.INTEGRATED, ("nl_NL",), "EUR")
        catalog.save_channel(db, spec)
    for code, kind, lat, lon, priority in LOCATIONS:
        inventory.save_location(
            db,
            inventory.LocationInput(
                code, code, kind, Address(latitude=lat, longitude=lon), priority=priority
            ),
        )
    links = [inventory.ChannelLink(code) for code, *_ in LOCATIONS]
    for i in range(channels):
        inventory.link_channel(db, f"ch{i}", links)
    changes = []
    for s in range(skus):
        total = stock_per_sku[s]
        for j, (code, *_) in enumerate(LOCATIONS):
            share = total // len(LOCATIONS) + (1 if j < total % len(LOCATIONS) else 0)
            if share:
                changes.append(inventory.StockChange(f"SKU-{s:04d}", code, share))
    inventory.change_stock(db, inventory.ChangeKind.RECEIPT, changes, source="bench")


def make_orders(n: int, channels: int, skus: int, seed: int) -> list[OrderInput]:
    rng = random.Random(seed)
    result = []
    for i in range(n):
        lines = tuple(
            LineInput(f"SKU-{rng.randrange(skus):04d}", rng.randint(1, 2), Decimal("12.50"))
            for _ in range(rng.choice((1, 1, 2, 3)))
        )
        result.append(
            OrderInput(
                channel=f"ch{i % channels}",
                external_id=f"B{i:07d}",
                currency="EUR",
                lines=lines,
                shipping_address=PostalAddress(
                    latitude=52 + rng.random(), longitude=4.5 + rng.random()
                ),
            )
        )
    return result


def _place(url: str, batch: list[OrderInput], size: int, start: object, out: object) -> None:
    db = Database(url)
    start.wait()  # type: ignore[attr-defined]
    began = time.perf_counter()
    statuses: dict[str, int] = {}
    for i in range(0, len(batch), size):
        for result in orders.import_orders(db, batch[i : i + size], "bench", batch_size=size):
            statuses[result.status or "?"] = statuses.get(result.status or "?", 0) + 1
    out.put((time.perf_counter() - began, statuses))  # type: ignore[attr-defined]
    db.dispose()


def _raw_updates(url: str, count: int, rows: int, seed: int, start: object, out: object) -> None:
    """The same conditional UPDATE alone, one per transaction, through the bare driver."""
    rng = random.Random(seed)
    sql = (
        "UPDATE bench_raw SET reserved = reserved + 1 "
        "WHERE id = {p} AND on_hand - reserved - safety >= 1"
    )
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        statement = sql.format(p="?")
        start.wait()  # type: ignore[attr-defined]
        began = time.perf_counter()
        for _ in range(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(statement, (rng.randrange(rows) + 1,))
            conn.execute("COMMIT")
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))  # type: ignore[assignment]
        statement = sql.format(p="%s")
        start.wait()  # type: ignore[attr-defined]
        began = time.perf_counter()
        for _ in range(count):
            conn.execute(statement, (rng.randrange(rows) + 1,))
            conn.commit()
    out.put(time.perf_counter() - began)  # type: ignore[attr-defined]
    conn.close()


def run_processes(target: object, args_per_process: list[tuple[object, ...]]) -> list[object]:
    ctx = mp.get_context("fork")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, out)) for a in args_per_process]  # type: ignore[arg-type]
    for p in procs:
        p.start()
    time.sleep(0.5)
    began = time.perf_counter()
    start.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a worker process failed with exit code {p.exitcode}")
    results.append(time.perf_counter() - began)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--stock-ratio", type=float, default=0.7, help="total stock / demand")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--batch",
        type=int,
        default=100,
        help="orders per import call (a channel's poll); 1 = one by one",
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server URL; default SQLite"
    )
    args = parser.parse_args()

    all_orders = make_orders(args.orders, args.channels, args.skus, args.seed)
    demand_by_sku = [0] * args.skus
    for order in all_orders:
        for line in order.lines:
            demand_by_sku[int(line.sku[4:])] += line.quantity
    demand = sum(demand_by_sku)
    stock = [int(d * args.stock_ratio) for d in demand_by_sku]

    with scratch_database(args.database_url) as url:
        db = Database(url)
        upgrade(db)
        setup(db, args.channels, args.skus, stock)
        batches = [all_orders[i :: args.processes] for i in range(args.processes)]
        print(f"placing {args.orders} orders in {args.processes} processes...", file=sys.stderr)
        results = run_processes(_place, [(url, b, args.batch) for b in batches])
        wall = float(results.pop())  # type: ignore[arg-type]
        statuses: dict[str, int] = {}
        for _, counts in results:  # type: ignore[misc]
            for k, v in counts.items():
                statuses[k] = statuses.get(k, 0) + v

        s, r = inventory_store.stock_levels.c, inventory_store.reservations.c
        ol, o = orders_store.order_lines.c, orders_store.orders.c
        with db.read() as conn:
            oversold = conn.execute(
                select(func.coalesce(func.sum(s.reserved - s.on_hand + s.safety), 0)).where(
                    s.reserved > s.on_hand - s.safety
                )
            ).scalar_one()
            reserved_rows = conn.execute(
                select(func.coalesce(func.sum(s.reserved), 0))
            ).scalar_one()
            reserved_lines = conn.execute(
                select(func.coalesce(func.sum(ol.quantity), 0))
                .join_from(orders_store.order_lines, orders_store.orders, ol.order_id == o.id)
                .where(o.status == "routed")
            ).scalar_one()
            live = conn.execute(
                select(func.coalesce(func.sum(r.quantity), 0)).where(r.status == "active")
            ).scalar_one()
            mismatches = inventory.ledger_mismatches(conn)
            stored = conn.execute(
                select(func.count()).select_from(orders_store.orders)
            ).scalar_one()

        # The raw limit: the conditional UPDATE alone, one per transaction, same processes.
        raw_count = max(1000, args.orders // args.processes)
        with db.transaction() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, on_hand INTEGER NOT NULL, "
                    "reserved INTEGER NOT NULL, safety INTEGER NOT NULL)"
                )
            )
            conn.execute(
                text("INSERT INTO bench_raw VALUES (:id, 1000000000, 0, 0)"),
                [{"id": i + 1} for i in range(args.skus)],
            )
        db.dispose()
        print("measuring the raw conditional UPDATE...", file=sys.stderr)
        raw = run_processes(
            _raw_updates,
            [(url, raw_count, args.skus, args.seed + i) for i in range(args.processes)],
        )
        raw_wall = float(raw.pop())  # type: ignore[arg-type]

    orders_per_s = args.orders / wall
    raw_per_s = raw_count * args.processes / raw_wall
    print(
        json.dumps(
            {
                "bench": "order_burst",
                "database": "sqlite" if url.startswith("sqlite") else "postgresql",
                "orders": args.orders,
                "stored_orders": stored,
                "channels": args.channels,
                "processes": args.processes,
                "orders_per_transaction": args.batch,
                "skus": args.skus,
                "cpus": os.cpu_count(),
                "demand_units": demand,
                "stock_units": sum(stock),
                "statuses": dict(sorted(statuses.items())),
                "seconds": round(wall, 3),
                "orders_per_s": round(orders_per_s, 1),
                "oversold_units": int(oversold),
                "ledger_ok": not mismatches,
                "ledger_mismatches": len(mismatches),
                "reserved_units": int(reserved_rows),
                "reserved_by_routed_orders": int(reserved_lines),
                "active_reservation_units": int(live),
                "no_lost_update": int(reserved_rows) == int(reserved_lines) == int(live),
                "raw_conditional_updates_per_s": round(raw_per_s, 1),
                "ratio_to_raw": round(orders_per_s / raw_per_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
