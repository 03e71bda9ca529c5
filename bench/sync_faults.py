"""Sync under faults: stock changes, price changes and order webhooks (with redeliveries) flow
for ``--seconds`` while two receiver sandboxes inject 5xx, 429s, timeouts and one 20-second
outage, and the ``channelhub worker`` process is killed with SIGKILL twice. At the end every
sandbox's stock and prices must equal the hub's, every order must be in the hub exactly once,
and no job may be lost (none dead, none unfinished). Prints one JSON object as its last line;
exits 1 when a check fails. The test suite runs it for 45 s; run it longer on request:

    python bench/sync_faults.py --seconds 600
    python bench/sync_faults.py --seconds 120 --workers 2 \\
        --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from channelhub.connectors.webhook import sign
from channelhub.core.database import Database, utcnow
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChangeKind, StockChange
from channelhub.orders import store as orders_store
from channelhub.pricing import prices
from channelhub.pricing import service as pricing
from channelhub.sync.dispatcher import has_new_events
from channelhub.sync.inbox import receive_webhook
from channelhub.sync.model import JobKind
from channelhub.sync.store import inbox, jobs
from sync_harness import (
    RECEIVER_SECRET,
    Workers,
    build_world,
    receivers,
    scratch_database,
    use_engine_settings,
    wait_until,
)

CHANNELS = ["web", "bol"]
SKUS = [f"SKU-{i:03d}" for i in range(40)]
OUTAGE_SECONDS = 20.0


def _order(external_id: str, sku: str) -> bytes:
    return orjson.dumps(
        {
            "id": f"evt-{external_id}",
            "topic": "orders/create",
            "order": {
                "external_id": external_id,
                "created_at": utcnow().isoformat(),
                "currency": "EUR",
                "lines": [
                    {"external_line_id": "1", "sku": sku, "quantity": 1, "unit_price": "10.00"}
                ],
            },
        }
    )


def _unfinished(db: Database) -> dict[str, int]:
    with db.read() as conn:
        job_states = dict(
            conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state)).all()
        )
        inbox_states = dict(
            conn.execute(select(inbox.c.state, func.count()).group_by(inbox.c.state)).all()
        )
    return {
        "jobs_open": sum(job_states.get(s, 0) for s in ("new", "failed", "processing", "waiting")),
        "jobs_dead": job_states.get("dead", 0),
        "inbox_open": sum(inbox_states.get(s, 0) for s in ("new", "processing")),
        "inbox_dead": inbox_states.get("dead", 0),
    }


def _hub_prices(db: Database, channel: str) -> dict[str, str]:
    with db.read() as conn:
        resolved = pricing.resolve_many(conn, channel, "EUR", SKUS, utcnow())
    return {s: str(r.effective_price) for s, r in resolved.items()}


def run(database_url: str | None, seconds: float, workers: int, seed: int = 1) -> dict[str, Any]:
    """The scenario; a report whose ``ok`` says whether every check held."""
    use_engine_settings()
    rng = random.Random(seed)
    with scratch_database(database_url) as url:
        db = Database(url)
        build_world(db, CHANNELS, SKUS)
        with receivers(db, CHANNELS, kinds=(JobKind.STOCK, JobKind.PRICES)) as sandboxes:
            for sandbox in sandboxes:
                sandbox.state.faults.error_rate = 0.1
                sandbox.state.faults.throttle_rate = 0.1
                sandbox.state.faults.timeout_rate = 0.02
            pool = Workers(url, count=workers)
            pool.start()
            started = time.monotonic()
            kills = [started + seconds / 3, started + 2 * seconds / 3]
            outage_at = started + min(seconds * 0.2, max(0.0, seconds - OUTAGE_SECONDS))
            sent_orders: list[str] = []
            counters: Counter[str] = Counter()
            outage_done = False
            while time.monotonic() - started < seconds:
                now = time.monotonic()
                if not outage_done and now >= outage_at:
                    sandboxes[0].state.faults.outage(OUTAGE_SECONDS)
                    outage_done = True
                if kills and now >= kills[0]:
                    kills.pop(0)
                    pool.kill()
                    counters["kills"] += 1
                    time.sleep(0.5)
                    pool.start()
                sku = rng.choice(SKUS)
                inventory.change_stock(
                    db, ChangeKind.COUNT, [StockChange(sku, "wh", rng.randint(0, 80))], "faults"
                )
                counters["stock_changes"] += 1
                if rng.random() < 0.3:
                    channel = rng.choice(CHANNELS)
                    amount = Decimal(rng.randint(500, 5000)) / 100
                    prices.save_prices(
                        db, [prices.PriceInput(rng.choice(SKUS), amount)], f"{channel}_eur"
                    )
                    counters["price_changes"] += 1
                if rng.random() < 0.2:
                    external_id = f"F-{len(sent_orders) + 1}"
                    body = _order(external_id, rng.choice(SKUS))
                    headers = {"X-Channelhub-Signature": sign(RECEIVER_SECRET, body)}
                    copies = 2 if rng.random() < 0.3 else 1  # the platform redelivers
                    for _ in range(copies):
                        receive_webhook(db, "web-hook", headers, body)
                    sent_orders.append(external_id)
                time.sleep(0.03)
            load_seconds = time.monotonic() - started
            for sandbox in sandboxes:
                sandbox.state.faults.clear()

            def settled() -> bool:
                left = _unfinished(db)
                return left["jobs_open"] == 0 and left["inbox_open"] == 0 and not has_new_events(db)

            drained = wait_until(settled, timeout=90)
            drain_seconds = time.monotonic() - started - load_seconds
            pool.stop()
            left = _unfinished(db)
            mismatches: list[str] = []
            for sandbox in sandboxes:
                hub_stock = inventory.available(db, sandbox.code, SKUS)
                for sku in SKUS:
                    if sandbox.state.stock.get(sku) != hub_stock[sku]:
                        mismatches.append(
                            f"{sandbox.code} stock {sku}: hub {hub_stock[sku]} "
                            f"sandbox {sandbox.state.stock.get(sku)}"
                        )
                hub_prices = _hub_prices(db, sandbox.code)
                for sku, amount in hub_prices.items():
                    if Decimal(sandbox.state.prices.get(sku, "-1")) != Decimal(amount):
                        mismatches.append(
                            f"{sandbox.code} price {sku}: hub {amount} "
                            f"sandbox {sandbox.state.prices.get(sku)}"
                        )
            with db.read() as conn:
                stored = Counter(
                    conn.execute(
                        select(orders_store.orders.c.external_id).where(
                            orders_store.orders.c.external_id.in_(sent_orders)
                        )
                    ).scalars()
                )
            orders_ok = sorted(stored) == sorted(sent_orders) and all(
                n == 1 for n in stored.values()
            )
            faults = sum(s.state.faults_served for s in sandboxes)
            db.dispose()
            report = {
                "benchmark": "sync_faults",
                "database": "sqlite" if url.startswith("sqlite") else "postgresql",
                "workers": workers,
                "load_seconds": round(load_seconds, 1),
                "drain_seconds": round(drain_seconds, 1),
                "kills": counters["kills"],
                "stock_changes": counters["stock_changes"],
                "price_changes": counters["price_changes"],
                "orders": len(sent_orders),
                "orders_in_hub_once": orders_ok,
                "faults_served": faults,
                "drained": drained,
                **left,
                "mismatches": len(mismatches),
                "first_mismatches": mismatches[:5],
            }
            report["ok"] = bool(
                drained
                and orders_ok
                and not mismatches
                and left["jobs_dead"] == 0
                and left["inbox_dead"] == 0
            )
            if not report["ok"]:
                report["worker_log"] = pool.tail()
            return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = run(args.database_url, args.seconds, args.workers, args.seed)
    print(json.dumps(report))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
