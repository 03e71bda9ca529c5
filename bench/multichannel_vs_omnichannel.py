"""Multichannel vs omnichannel: the same demand replayed against

(a) independent channels: each lists its share of the stock and learns of the other channels'
    sales only at a periodic sync (every 15 minutes of simulated time), and
(b) one integrated pool: every order goes through the hub (``orders.service.import_orders``
    on a scratch SQLite database), which reserves it atomically against the shared stock.

Counts, for each: oversold orders (accepted, but the goods were gone) and lost sales (refused
although the stock to fill them existed). Prints one JSON object as its last line.

    python bench/multichannel_vs_omnichannel.py --orders 5000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.inventory import service as inventory
from channelhub.inventory.model import LocationKind
from channelhub.orders import service as orders
from channelhub.orders.model import LineInput, OrderInput

#: Relative demand of each channel: a webshop, marketplaces, an app, social shops...
WEIGHTS = [30, 20, 15, 10, 10, 6, 5, 4]


@dataclass(frozen=True)
class Demand:
    minute: float
    channel: int
    sku: int
    quantity: int


@dataclass
class Outcome:
    orders: int = 0
    accepted: int = 0
    oversold_orders: int = 0
    oversold_units: int = 0
    lost_sales: int = 0
    lost_units: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def make_demand(n: int, skus: int, hours: float, seed: int) -> list[Demand]:
    rng = random.Random(seed)
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(skus)]  # a long tail
    minutes = sorted(rng.uniform(0, hours * 60) for _ in range(n))
    return [
        Demand(
            minute,
            rng.choices(range(len(WEIGHTS)), WEIGHTS)[0],
            rng.choices(range(skus), popularity)[0],
            rng.choice((1, 1, 1, 2)),
        )
        for minute in minutes
    ]


def independent(
    demand: list[Demand], stock: list[int], share: float, sync_minutes: float
) -> Outcome:
    """Each channel keeps its own count, refreshed to its share of real stock at each sync."""
    physical = list(stock)
    channels = len(WEIGHTS)
    views = [[int(share * s) for s in physical] for _ in range(channels)]
    next_sync = sync_minutes
    result = Outcome()
    for d in demand:
        while d.minute >= next_sync:
            views = [[int(share * max(0, s)) for s in physical] for _ in range(channels)]
            next_sync += sync_minutes
        result.orders += 1
        if views[d.channel][d.sku] >= d.quantity:
            views[d.channel][d.sku] -= d.quantity
            result.accepted += 1
            if physical[d.sku] >= d.quantity:
                physical[d.sku] -= d.quantity
            else:
                result.oversold_orders += 1
                result.oversold_units += d.quantity - max(0, physical[d.sku])
                physical[d.sku] = min(0, physical[d.sku])
        elif physical[d.sku] >= d.quantity:
            result.lost_sales += 1
            result.lost_units += d.quantity
    return result


def integrated(demand: list[Demand], stock: list[int], batch_minutes: float) -> Outcome:
    """The same demand through the hub: one pool, one atomic reservation per order."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/omni.db")
        upgrade(db)
        catalog.add_locale(db, "nl_NL")
        inventory.save_location(
            db, inventory.LocationInput("wh", "Warehouse", LocationKind.WAREHOUSE)
        )
        rejecting = inventory.ChannelStockSettings(shortage_policy=inventory.ShortagePolicy.REJECT)
        for c in range(len(WEIGHTS)):
            catalog.save_channel(
                db,
                catalog.ChannelInput(
                    f"ch{c}", f"ch{c}", ChannelKind.WEBSHOP, ChannelMode.INTEGRATED,
                    ("nl_NL",), "EUR",
                ),
            )  # fmt: skip
            inventory.link_channel(db, f"ch{c}", [inventory.ChannelLink("wh")])
            inventory.set_channel_settings(db, f"ch{c}", rejecting)
        inventory.change_stock(
            db,
            inventory.ChangeKind.RECEIPT,
            [inventory.StockChange(f"SKU-{i}", "wh", q) for i, q in enumerate(stock) if q],
            "bench",
        )
        physical = list(stock)
        result = Outcome()
        # Orders arrive as the channels send them: a batch per window, in time order.
        window: list[tuple[Demand, OrderInput]] = []
        end = batch_minutes

        def flush() -> None:
            found = orders.import_orders(db, [o for _, o in window], "bench")
            for (d, _), r in zip(window, found, strict=True):
                result.orders += 1
                if r.status == "routed":
                    result.accepted += 1
                    if physical[d.sku] < d.quantity:
                        result.oversold_orders += 1
                        result.oversold_units += d.quantity - physical[d.sku]
                    physical[d.sku] -= d.quantity
                elif physical[d.sku] >= d.quantity:
                    result.lost_sales += 1
                    result.lost_units += d.quantity
            window.clear()

        for i, d in enumerate(demand):
            if d.minute >= end:
                flush()
                end += batch_minutes
            window.append(
                (
                    d,
                    OrderInput(
                        f"ch{d.channel}",
                        f"O{i}",
                        "EUR",
                        (LineInput(f"SKU-{d.sku}", d.quantity, Decimal("10")),),
                    ),
                )
            )
        flush()
        audit = inventory.check_ledger(db)
        db.dispose()
    if audit:
        raise SystemExit(f"ledger mismatches: {audit[:3]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--skus", type=int, default=100)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated time")
    parser.add_argument("--stock-ratio", type=float, default=0.9, help="stock / demand per SKU")
    parser.add_argument(
        "--share", type=float, default=0.5, help="share of stock each independent channel lists"
    )
    parser.add_argument("--sync-minutes", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    demand = make_demand(args.orders, args.skus, args.hours, args.seed)
    wanted = [0] * args.skus
    for d in demand:
        wanted[d.sku] += d.quantity
    stock = [int(w * args.stock_ratio) for w in wanted]

    began = time.perf_counter()
    multi = independent(demand, stock, args.share, args.sync_minutes)
    omni = integrated(demand, stock, batch_minutes=1.0)
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "bench": "multichannel_vs_omnichannel",
                "orders": args.orders,
                "channels": len(WEIGHTS),
                "skus": args.skus,
                "simulated_hours": args.hours,
                "demand_units": sum(wanted),
                "stock_units": sum(stock),
                "independent_share": args.share,
                "sync_minutes": args.sync_minutes,
                "independent": multi.as_dict(),
                "integrated": omni.as_dict(),
                "oversold_orders_avoided": multi.oversold_orders - omni.oversold_orders,
                "lost_sales_avoided": multi.lost_sales - omni.lost_sales,
                "seconds": round(seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
