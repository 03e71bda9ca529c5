"""Inbound exchange files: each file in a files connection's ``incoming/`` folder is read,
checked whole, applied whole, then moved to ``processed/``; a file that cannot be applied goes
to ``failed/`` with ``<name>.error.txt`` saying which line and why, and nothing of it is kept.

- ``orders*``: imported into the order pipeline in one transaction (idempotent by channel and
  order id: the same order in a later file updates it, the same file twice changes nothing).
- ``stock*``: absolute counts per location, applied as one inventory count batch keyed by the
  file's digest (the same file twice is applied once).
- ``shipments*``: every order is checked (known, shippable) before any is shipped; an order
  already shipped is skipped, so a file processed again after a crash ships nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from channelhub.automation.store import file_imports
from channelhub.connectors.base import DeliveryError
from channelhub.connectors.files.connector import FilesConfig, open_storage
from channelhub.connectors.files.formats import (
    FileProblem,
    kind_of,
    read_orders,
    read_shipments,
    read_stock,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError
from channelhub.inventory.service import ChangeKind, StockChange, change_stock, unknown_skus
from channelhub.orders import service as orders
from channelhub.orders.fulfilment import ship
from channelhub.orders.model import OrderStatus, order_problems
from channelhub.sync.connections import ConnectionRecord, load_connections
from channelhub.sync.inbox import order_input

log = logging.getLogger("channelhub.automation.files")


@dataclass(frozen=True)
class FileResult:
    connection: str
    name: str
    kind: str
    outcome: str  # processed | failed | skipped
    records: int = 0
    error: str | None = None


def _already(db: Database, code: str, name: str, digest: str) -> bool:
    with db.read() as conn:
        found = conn.execute(
            select(file_imports.c.id).where(
                file_imports.c.connection == code,
                file_imports.c.name == name,
                file_imports.c.digest == digest,
            )
        ).first()
    return found is not None


def _remember(db: Database, code: str, name: str, digest: str, kind: str, records: int) -> None:
    with db.transaction() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            insert(file_imports)
            .values(
                connection=code,
                name=name[:500],
                digest=digest,
                kind=kind,
                records=records,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )


def _apply_orders(db: Database, record: ConnectionRecord, data: bytes, fmt: str) -> int:
    parsed = read_orders(data, fmt)
    inputs = []
    for where, order in parsed:
        given = order_input(record.channel, order)
        problems = order_problems(given)
        if problems:
            field, message = problems[0]
            raise FileProblem(where, f"order {order.external_id}: {field}: {message}")
        inputs.append(given)
    if not inputs:
        return 0
    with db.read() as conn:
        unknown = unknown_skus(conn, {line.sku for o in inputs for line in o.lines})
    for where, order in parsed:
        for line in order.lines:
            if line.sku in unknown:
                raise FileProblem(where, f"order {order.external_id}: unknown SKU {line.sku!r}")
    # All or nothing per file: a file that fails is moved to failed/ whole, so none of its
    # orders may stay imported (the batch import would keep the good ones).
    results = orders.import_orders_atomically(db, inputs, record.code)
    return len(results)


def _apply_stock(db: Database, record: ConnectionRecord, data: bytes, fmt: str, key: str) -> int:
    counts = read_stock(data, fmt)
    with db.read() as conn:
        unknown = unknown_skus(conn, {c.sku for c in counts})
    for count in counts:
        if count.sku in unknown:
            raise FileProblem(count.where, f"unknown SKU {count.sku!r}")
    if counts:
        change_stock(
            db,
            ChangeKind.COUNT,
            [StockChange(c.sku, c.location, c.quantity, reason="count from file") for c in counts],
            source=f"file:{record.code}",
            key=key,
        )
    return len(counts)


def _apply_shipments(db: Database, record: ConnectionRecord, data: bytes, fmt: str) -> int:
    confirmations = read_shipments(data, fmt)
    todo = []
    for item in confirmations:
        channel = item.channel or record.channel
        try:
            order = orders.find_order(db, channel, item.order_id)
        except ChannelhubError:
            raise FileProblem(item.where, f"no order {item.order_id} on {channel}") from None
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            continue  # confirmed before (a file processed again)
        if order.status not in (
            OrderStatus.ROUTED,
            OrderStatus.PICKING,
            OrderStatus.PARTIALLY_SHIPPED,
        ):
            raise FileProblem(item.where, f"order {item.order_id} is {order.status.value}")
        if not order.reservations:
            raise FileProblem(item.where, f"order {item.order_id} has nothing reserved to ship")
        todo.append((item, order.id))
    for item, order_id in todo:
        tracking = " ".join(p for p in (item.carrier, item.tracking) if p)
        ship(db, order_id, actor=record.code, tracking=tracking)
    return len(confirmations)


def _apply(
    db: Database, record: ConnectionRecord, kind: str, fmt: str, data: bytes, digest: str
) -> int:
    if kind == "orders":
        return _apply_orders(db, record, data, fmt)
    if kind == "stock":
        return _apply_stock(db, record, data, fmt, key=f"file:{record.code}:{digest}")
    return _apply_shipments(db, record, data, fmt)


async def process_incoming(db: Database, record: ConnectionRecord) -> list[FileResult]:
    """Apply every waiting file of one files connection, oldest name first."""
    config = record.config
    assert isinstance(config, FilesConfig)
    storage = open_storage(config)
    results: list[FileResult] = []
    try:
        for name in await storage.list(config.incoming):
            found = kind_of(name)
            if found is None:
                continue
            kind, fmt = found
            data = await storage.read(config.incoming, name)
            digest = hashlib.sha256(data).hexdigest()
            error: str | None = None
            records = 0
            if await asyncio.to_thread(_already, db, record.code, name, digest):
                outcome = "skipped"
            else:
                try:
                    records = await asyncio.to_thread(_apply, db, record, kind, fmt, data, digest)
                    outcome = "processed"
                except FileProblem as problem:
                    outcome, error = "failed", str(problem)
                except ChannelhubError as problem:
                    details = "; ".join(f"{p.location}: {p.message}" for p in problem.problems)
                    outcome = "failed"
                    error = f"file: {problem.detail}" + (f" ({details})" if details else "")
            if outcome == "failed":
                text = f"{name} was not applied (nothing of it was kept).\n{error}\n"
                await storage.write(config.failed, f"{name}.error.txt", text.encode())
                await storage.move(config.incoming, name, config.failed)
            else:
                if outcome == "processed":
                    await asyncio.to_thread(_remember, db, record.code, name, digest, kind, records)
                await storage.move(config.incoming, name, config.processed)
            results.append(FileResult(record.code, name, kind, outcome, records, error))
            log.info("file %s on %s: %s %s", name, record.code, outcome, error or "")
    finally:
        await storage.close()
    return results


async def process_all(db: Database) -> list[FileResult]:
    """Process the incoming folder of every enabled files connection."""

    def load() -> list[ConnectionRecord]:
        with db.read() as conn:
            return [r for r in load_connections(conn) if r.platform == "files"]

    results: list[FileResult] = []
    for record in await asyncio.to_thread(load):
        try:
            results += await process_incoming(db, record)
        except DeliveryError as error:  # this server is unreachable now; the others are not
            log.warning("files of %s not picked up: %s", record.code, error.message)
    return results
