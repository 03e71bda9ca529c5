"""Replay a year of a mid-size retailer's history under every set-up (``channelhub simulate``).

Builds a deterministic history in memory (channels with their sync intervals, a warehouse and
two stores, a long tail of SKUs, weekly receipts) and streams it through the replay. The raw
limit is one pass over the same events doing a dictionary update per line, the least any
replay must do. Prints one JSON object as its last line.

    python bench/simulate.py --orders 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from channelhub.insight.simulation.model import (
    FULL_LISTING,
    INTEGRATED,
    SPLIT,
    ChannelPlan,
    Outcome,
    Place,
    Receipt,
    Sale,
    SaleLine,
    Scenario,
    replay,
)

START = datetime(2025, 1, 6, tzinfo=UTC)
#: channel, sync minutes, locations, relative demand
CHANNELS = (
    ("web", 15, ("wh",), 30),
    ("app", 15, ("wh",), 15),
    ("bol", 15, ("wh",), 20),
    ("amazon", 15, ("wh",), 10),
    ("google", 60, ("wh",), 5),
    ("pos-ams", 0, ("ams",), 12),
    ("pos-rtm", 0, ("rtm",), 8),
)
PRICES = [Decimal(p) for p in ("9.95", "14.95", "24.95", "39.95", "59.00", "89.00")]


def history(orders: int, skus: int, seed: int) -> tuple[Scenario, Iterator[Sale | Receipt]]:
    rng = random.Random(seed)
    popularity = [1.0 / (rank + 1) ** 0.9 for rank in range(skus)]
    stock_per_sku = [max(2, round(orders * p / sum(popularity) / 40)) for p in popularity]
    opening = {}
    for sku in range(skus):
        opening[("wh", f"SKU-{sku}")] = stock_per_sku[sku]
        opening[("ams", f"SKU-{sku}")] = max(1, stock_per_sku[sku] // 6)
        opening[("rtm", f"SKU-{sku}")] = max(1, stock_per_sku[sku] // 8)
    scenario = Scenario(
        channels=tuple(ChannelPlan(c, loc, m) for c, m, loc, _ in CHANNELS),
        places=(
            Place("wh", priority=10),
            Place("ams", pickup=True, priority=20),
            Place("rtm", pickup=True, priority=20),
        ),
        opening_stock=opening,
        start=START,
        sku_groups={f"SKU-{s}": f"group-{s % 12}" for s in range(skus)},
    )
    weights = [w for *_, w in CHANNELS]
    names = [c for c, *_ in CHANNELS]
    seconds = 365 * 86400

    def events() -> Iterator[Sale | Receipt]:
        week = 7 * 86400
        next_receipt = week
        gaps = seconds / orders
        moment = 0.0
        picks = rng.choices(range(skus), popularity, k=orders * 2)
        channel_picks = rng.choices(names, weights, k=orders)
        for n in range(orders):
            moment += rng.expovariate(1 / gaps)
            while moment >= next_receipt:
                at = START + timedelta(seconds=next_receipt)
                for sku in range(0, skus, 3):  # a third of the range restocked each week
                    s = (sku + next_receipt // week) % skus
                    yield Receipt(at, "wh", f"SKU-{s}", stock_per_sku[s] // 2 + 1)
                next_receipt += week
            lines = [SaleLine(f"SKU-{picks[2 * n]}", rng.choice((1, 1, 1, 2)), PRICES[n % 6])]
            if n % 4 == 0:
                lines.append(SaleLine(f"SKU-{picks[2 * n + 1]}", 1, PRICES[(n + 3) % 6]))
            yield Sale(
                f"O{n}",
                channel_picks[n],
                START + timedelta(seconds=moment),
                tuple(lines),
            )

    return scenario, events()


def raw_pass(scenario: Scenario, events: Iterator[Sale | Receipt]) -> int:
    """The least a replay does: one dictionary update per line or receipt."""
    stock = dict(scenario.opening_stock)
    n = 0
    for event in events:
        if isinstance(event, Sale):
            for line in event.lines:
                key = ("wh", line.sku)
                stock[key] = stock.get(key, 0) - line.quantity
                n += 1
        else:
            key = (event.location, event.sku)
            stock[key] = stock.get(key, 0) + event.quantity
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--processes", type=int, default=2, help="processes sharing the set-ups")
    parser.add_argument("--memory", action="store_true", help="trace peak memory (slower)")
    args = parser.parse_args()

    scenario, events = history(args.orders, args.skus, args.seed)
    started = time.perf_counter()
    raw_lines = raw_pass(scenario, events)
    raw_s = time.perf_counter() - started

    scenario, _ = history(args.orders, args.skus, args.seed)
    shares = {name: float(weight) for name, _, _, weight in CHANNELS}
    if args.memory:
        tracemalloc.start()
    started = time.perf_counter()
    result = replay(
        scenario,
        lambda: history(args.orders, args.skus, args.seed)[1],
        shares=shares,
        keep_lines=100,  # as the CLI and the API keep: the figures count every line
        processes=args.processes,
    )
    replay_s = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if args.memory else None

    def figure(setup: str, outcome: Outcome) -> dict[str, object]:
        tally = result.setups[setup].totals[outcome]
        return {"orders": tally.orders, "units": tally.units, "value": str(tally.value)}

    out = {
        "benchmark": "simulate",
        "orders": result.orders,
        "lines": raw_lines,
        "setups_replayed": len([n for n in result.setups if n != "buffered"])
        + len([b for b in scenario.buffers if b > 0]),
        "processes": args.processes,
        "replay_s": round(replay_s, 2),
        "orders_per_s": round(result.orders / replay_s),
        "raw_pass_s": round(raw_s, 2),
        "ratio_to_raw": round(raw_s / replay_s, 3),
        "peak_memory_mb": round(peak / 2**20, 1) if peak is not None else None,
        "oversold_full_listing": figure(FULL_LISTING, Outcome.OVERSOLD),
        "lost_full_listing": figure(FULL_LISTING, Outcome.LOST),
        "lost_split": figure(SPLIT, Outcome.LOST),
        "oversold_integrated": figure(INTEGRATED, Outcome.OVERSOLD),
        "buffer": result.buffer,
        "move_first": max(result.moves, key=result.moves.__getitem__) if result.moves else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
