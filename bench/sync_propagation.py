"""Sync propagation: stock changes at a steady rate into the hub, fanned out by ``channelhub
worker`` processes to receiver sandboxes (one per channel) over HTTP.

Measures the latency from the hub's commit of a quantity to a sandbox receiving that quantity
(p50/p95/p99), the deliveries per second, and, in the same run against the same sandboxes, the
raw rate of signed one-item HTTP requests a plain asyncio client achieves, with the ratio.
A quantity superseded by a newer one before it was sent is never sent (coalescing); those are
counted, not timed. Prints one JSON object as its last line.

    python bench/sync_propagation.py --seconds 10
    python bench/sync_propagation.py --seconds 30 --rate 200 --channels 10 \\
        --database-url postgresql://postgres@127.0.0.1/test --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from channelhub.connectors.webhook import sign
from channelhub.core.database import Database
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChangeKind, StockChange
from channelhub.sync.dispatcher import has_new_events
from channelhub.sync.model import JobKind
from channelhub.sync.store import jobs
from sync_harness import (
    RECEIVER_SECRET,
    Channel,
    Workers,
    build_world,
    receivers,
    scratch_database,
    use_engine_settings,
    wait_until,
)

TICK = 0.05


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _queue_empty(db: Database) -> bool:
    from sqlalchemy import func, select

    with db.read() as conn:
        open_jobs = conn.execute(
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.state.in_(["new", "failed", "processing", "waiting"]))
        ).scalar_one()
    return int(open_jobs) == 0 and not has_new_events(db)


def _load(
    db: Database, skus: list[str], seconds: float, rate: float, rng: random.Random
) -> tuple[dict[tuple[str, str], float], dict[str, str], float, list[float]]:
    """Counts at ``rate`` per second for ``seconds`` (one transaction per tick); the commit
    time of each (sku, quantity), the final quantities, the duration, each commit's seconds."""
    committed: dict[tuple[str, str], float] = {}
    final: dict[str, str] = {}
    commits: list[float] = []
    serial = 1000
    issued = 0
    started = time.monotonic()
    ticks = 0
    while time.monotonic() - started < seconds:
        ticks += 1
        count = int(rate * (time.monotonic() - started)) - issued
        chosen = rng.sample(skus, min(count, len(skus))) if count > 0 else []
        changes = []
        for sku in chosen:
            serial += 1
            changes.append(StockChange(sku, "wh", serial))
        if changes:
            began = time.perf_counter()
            inventory.change_stock(db, ChangeKind.COUNT, changes, "bench")
            commits.append(time.perf_counter() - began)
            stamp = time.time()
            issued += len(changes)
            for change in changes:
                committed[(change.sku, str(change.quantity))] = stamp
                final[change.sku] = str(change.quantity)
        pause = started + ticks * TICK - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return committed, final, time.monotonic() - started, commits


async def _raw_rate(sandboxes: list[Channel], seconds: float, concurrency: int) -> float:
    """Signed one-item stock POSTs to the same sandboxes, as fast as a plain client goes."""
    done = 0
    stop_at = time.monotonic() + seconds

    async def hammer(client: httpx.AsyncClient, url: str, n: int) -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            body = orjson.dumps(
                {"id": f"raw-{n}-{done}", "topic": "raw", "items": [{"sku": "RAW", "quantity": 1}]}
            )
            headers = {
                "Content-Type": "application/json",
                "X-Channelhub-Signature": sign(RECEIVER_SECRET, body),
            }
            response = await client.post(url + "/", content=body, headers=headers)
            response.raise_for_status()
            done += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1000)) as client:
        await asyncio.gather(
            *(
                hammer(client, s.url, i)
                for s in sandboxes
                for i in range(max(1, concurrency // len(sandboxes)))
            )
        )
    return done / seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    use_engine_settings()
    rng = random.Random(args.seed)
    channels = [f"c{i:02d}" for i in range(args.channels)]
    skus = [f"SKU-{i:05d}" for i in range(args.skus)]
    with scratch_database(args.database_url) as url:
        db = Database(url)
        build_world(db, channels, skus)
        with receivers(db, channels, kinds=(JobKind.STOCK,), record_arrivals=True) as sandboxes:
            pool = Workers(url, count=args.workers)
            pool.start()
            try:
                warm = wait_until(lambda: _queue_empty(db), timeout=300, interval=0.5)
                if not warm:
                    raise RuntimeError("the initial stock did not propagate:\n" + pool.tail())
                before_requests = sum(s.state.accepted for s in sandboxes)
                for sandbox in sandboxes:
                    sandbox.state.arrivals.clear()
                committed, final, load_seconds, commits = _load(
                    db, skus, args.seconds, args.rate, rng
                )

                def all_final() -> bool:
                    return all(
                        sandbox.state.stock.get(sku) == int(quantity)
                        for sandbox in sandboxes
                        for sku, quantity in final.items()
                    )

                converged = wait_until(all_final, timeout=60, interval=0.1)
                hub_requests = sum(s.state.accepted for s in sandboxes) - before_requests
            finally:
                pool.stop()
            latencies: list[float] = []
            superseded = 0
            last_arrival = 0.0
            for sandbox in sandboxes:
                for (sku, quantity), stamp in committed.items():
                    arrived = sandbox.state.arrivals.get(("stock", sku, quantity))
                    if arrived is None:
                        superseded += 1
                        continue
                    latencies.append(max(0.0, arrived - stamp))
                    last_arrival = max(last_arrival, arrived)
            first_commit = min(committed.values()) if committed else time.time()
            span = max(load_seconds, last_arrival - first_commit)
            deliveries_per_s = len(latencies) / span if span else 0.0
            raw_per_s = asyncio.run(_raw_rate(sandboxes, 3.0, concurrency=64))
        db.dispose()
    return {
        "benchmark": "sync_propagation",
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "workers": args.workers,
        "channels": args.channels,
        "rate_per_s": args.rate,
        "seconds": round(load_seconds, 2),
        "changes": len(committed),
        "expected_deliveries": len(committed) * len(sandboxes),
        "deliveries": len(latencies),
        "superseded": superseded,
        "converged": converged,
        "p50_s": _round(_percentile(latencies, 0.50)),
        "p95_s": _round(_percentile(latencies, 0.95)),
        "p99_s": _round(_percentile(latencies, 0.99)),
        "max_s": _round(max(latencies) if latencies else None),
        "mean_s": _round(statistics.fmean(latencies) if latencies else None),
        "changes_per_s": round(len(committed) / load_seconds, 1) if load_seconds else 0.0,
        "commit_p50_s": _round(_percentile(commits, 0.5)),
        "commit_p99_s": _round(_percentile(commits, 0.99)),
        "deliveries_per_s": round(deliveries_per_s, 1),
        "hub_http_requests": hub_requests,
        "hub_http_requests_per_s": round(hub_requests / span, 1) if span else 0.0,
        "raw_http_requests_per_s": round(raw_per_s, 1),
        "ratio_deliveries_to_raw_requests": round(deliveries_per_s / raw_per_s, 3)
        if raw_per_s
        else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0, help="stock changes per second")
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = run(args)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
