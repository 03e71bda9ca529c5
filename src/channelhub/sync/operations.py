"""What people ask of a connection outside the worker loop: test it, preview its mapping,
reconcile it now. Each call through the connection's client is logged like any other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from channelhub.catalog.browse import iter_sellable_skus
from channelhub.connectors.base import DeliveryError
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.sync import values
from channelhub.sync.connections import load_connection
from channelhub.sync.delivery import ConnectionRuntime
from channelhub.sync.jobs import Enqueue, enqueue
from channelhub.sync.messages import CallContext, current_call, write_messages
from channelhub.sync.model import JobKind
from channelhub.sync.reconcile import ReconcileReport, reconcile


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    detail: str


@asynccontextmanager
async def _runtime(db: Database, code: str) -> AsyncIterator[ConnectionRuntime]:
    record = await asyncio.to_thread(load_connection, db, code)
    runtime = ConnectionRuntime.open(record, concurrency=2)
    try:
        yield runtime
    finally:
        await runtime.close()
        entries = runtime.buffer.take()

        def write() -> None:
            with db.transaction() as conn:
                write_messages(conn, entries)

        await asyncio.to_thread(write)


async def check_connection(db: Database, code: str) -> ConnectionCheck:
    """Call the platform with the connection's credentials: what they reach, or why not."""
    async with _runtime(db, code) as runtime:
        token = current_call.set(CallContext("test", (), 1))
        try:
            detail = await runtime.connector.test_connection()
        except DeliveryError as error:
            runtime.buffer.add(status="test failed", error=runtime.buffer.redact(str(error)))
            return ConnectionCheck(False, runtime.buffer.redact(error.message))
        finally:
            current_call.reset(token)
        return ConnectionCheck(True, runtime.buffer.redact(detail))


def preview(db: Database, code: str, sku: str) -> dict[str, Any]:
    """The listing the connection's mapping makes of one product (nothing is sent)."""
    record = load_connection(db, code)
    listing = values.listing_of(db, record, sku)
    shown = asdict(listing)
    shown["images"] = list(listing.images)
    shown["options"] = dict(listing.options)
    shown["attributes"] = dict(listing.attributes)
    return shown


async def reconcile_now(db: Database, code: str) -> ReconcileReport:
    """Read the channel's stock and prices back now and queue corrections for any drift."""
    async with _runtime(db, code) as runtime:
        token = current_call.set(CallContext("reconcile", (), 1))
        try:
            return await reconcile(db, runtime.record, runtime.connector)
        finally:
            current_call.reset(token)


PUSHABLE = (JobKind.LISTINGS, JobKind.STOCK, JobKind.PRICES)


def push_everything(db: Database, code: str, kinds: Sequence[JobKind] | None = None) -> int:
    """Queue every sellable SKU's listing, stock and price (those the connection subscribes
    to) for a connection: the first sync of a channel connected after its products existed.
    Returns how many jobs were queued; open jobs of the same keys absorb them."""
    record = load_connection(db, code)
    wanted = [k for k in (kinds or PUSHABLE) if k in PUSHABLE and k in record.subscriptions]
    if not wanted:
        raise InvalidInput(
            f"connection {code} subscribes to none of {', '.join(k.value for k in PUSHABLE)}"
        )
    queued = 0
    for skus in iter_sellable_skus(db):
        with db.transaction() as conn:
            queued += enqueue(
                conn, (Enqueue(record.id, kind, sku) for kind in wanted for sku in skus)
            )
    return queued
