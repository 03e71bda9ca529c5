"""Several processes place orders from several channels at once against scarce stock, on
SQLite and on PostgreSQL: nothing is oversold, no update is lost, on-hand equals the ledger,
and an order sent twice by two processes at once is still one order."""

from __future__ import annotations

import multiprocessing as mp
import random

from sqlalchemy import func, select

from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.inventory import service as inventory
from channelhub.inventory import store as inventory_store
from channelhub.orders import fulfilment, service
from channelhub.orders import store as orders_store
from tests.inventory.factories import add_channel, make_world, stock
from tests.orders.factories import order

CHANNELS = ("web", "bol", "app", "shop")
SKUS = [f"SKU-{i}" for i in range(8)]
PROCESSES = 4
ORDERS_PER_PROCESS = 40


def _worker(url: str, worker: int, start: object, failures: object) -> None:
    db = Database(url)
    try:
        rng = random.Random(worker)
        batch = [
            order(
                f"P{worker}-{i}",
                *[(rng.choice(SKUS), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))],
                channel=CHANNELS[(worker + i) % len(CHANNELS)],
            )
            for i in range(ORDERS_PER_PROCESS)
        ]
        shared = [order(f"DUP-{i}", (SKUS[i % len(SKUS)], 1), channel="web") for i in range(10)]
        start.wait()  # type: ignore[attr-defined]
        if worker % 2:
            results = service.import_orders(db, batch + shared, "test", batch_size=7)
        else:
            results = [service.import_order(db, o, "test") for o in batch + shared]
        for result in results[:ORDERS_PER_PROCESS:5]:  # cancel some while others reserve
            if result.status == "routed" and result.order_id is not None:
                fulfilment.cancel(db, result.order_id, "test")
    except BaseException as error:  # report to the parent, which fails the test
        failures.put(f"worker {worker}: {type(error).__name__}: {error}")  # type: ignore[attr-defined]
        raise
    finally:
        db.dispose()


def test_concurrent_orders_never_oversell_and_keep_the_ledger(db: Database) -> None:
    make_world(db)
    for code in ("app", "shop"):
        add_channel(db, code, ChannelKind.APP, ChannelMode.INTEGRATED)
        inventory.link_channel(db, code, [inventory.ChannelLink(c) for c in ("wh", "ams", "rtm")])
    for i, sku in enumerate(SKUS):
        stock(db, "wh", **{sku.replace("-", "_"): 3 + i % 3})
        stock(db, "ams", **{sku.replace("-", "_"): 2})
    inventory.set_safety_stock(db, "rtm", 1)
    stock(db, "rtm", **{sku.replace("-", "_"): 2 for sku in SKUS})
    url = db.url
    db.dispose()  # no pooled connection crosses the fork

    ctx = mp.get_context("fork")
    start, failures = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, start, failures)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
    problems = []
    while not failures.empty():
        problems.append(failures.get())
    assert not problems, problems
    assert all(p.exitcode == 0 for p in procs)

    s, r = inventory_store.stock_levels.c, inventory_store.reservations.c
    o, ol = orders_store.orders.c, orders_store.order_lines.c
    with db.read() as conn:
        oversold = conn.execute(
            select(func.count()).where(s.reserved > s.on_hand - s.safety)
        ).scalar_one()
        assert oversold == 0, "a stock row promised more than it holds"
        assert inventory.ledger_mismatches(conn) == [], "on hand or reserved differ from ledger"
        reserved = conn.execute(select(func.coalesce(func.sum(s.reserved), 0))).scalar_one()
        routed_units = conn.execute(
            select(func.coalesce(func.sum(ol.quantity), 0))
            .join_from(orders_store.order_lines, orders_store.orders, ol.order_id == o.id)
            .where(o.status == "routed")
        ).scalar_one()
        assert reserved == routed_units, "every routed order holds exactly its units"
        orders = conn.execute(select(func.count()).select_from(orders_store.orders)).scalar_one()
        assert orders == PROCESSES * ORDERS_PER_PROCESS + 10
        statuses = set(conn.execute(select(o.status).distinct()).scalars())
        assert statuses <= {"routed", "backordered", "cancelled"}
        assert "backordered" in statuses, "the test needs demand above stock"
        active = conn.execute(
            select(func.count()).where(r.status == "active", r.quantity <= 0)
        ).scalar_one()
        assert active == 0
