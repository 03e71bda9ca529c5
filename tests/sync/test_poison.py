"""Issue 21 finding 1: a signed message the hub cannot apply (a lone surrogate in a name,
JSON nested past the recursion limit, a quantity of 1e999, a price of 1e999999999) is kept
with its error and traceback, retried, then dead-lettered; the worker carries on and the
valid orders queued behind it are imported.

The messages are stored as the webhook endpoint stored them before the boundary refused
such text: the worker must survive whatever is already in the inbox."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import insert, select

from channelhub.core.database import Database, utcnow
from channelhub.orders.service import find_order
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.inbox import apply_inbox
from channelhub.sync.model import JobKind
from channelhub.sync.store import connections, inbox
from channelhub.sync.worker import Worker
from tests.inventory.factories import stock

SHOPIFY_SECRET = "shopify-client-secret"


def _order(number: int, **changes: Any) -> dict[str, Any]:
    line = {"id": number * 10, "sku": "MUG-1", "quantity": 1, "price": "9.95"}
    line.update(changes.pop("line", {}))
    order = {
        "id": number,
        "admin_graphql_api_id": f"gid://shopify/Order/{number}",
        "name": f"#{number}",
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
        "currency": "EUR",
        "financial_status": "paid",
        "email": "ann@example.com",
        "customer": {"id": 7, "first_name": "Ann", "last_name": "Lee"},
        "line_items": [line],
    }
    order.update(changes)
    return order


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Bodies as a platform signs them: valid JSON the hub cannot apply.
POISON: dict[str, bytes] = {
    "lone surrogate": json.dumps(
        _order(901, customer={"id": 7, "first_name": "Ann\ud800", "last_name": "Lee"})
    ).encode(),
    "deep nesting": json.dumps(_order(902)).encode()[:-1]
    + b', "note": '
    + _nested(100_000).encode()
    + b"}",
    "quantity 1e999": json.dumps(_order(903))
    .encode()
    .replace(b'"quantity": 1', b'"quantity": 1e999'),
    "price 1e999999999": json.dumps(_order(904)).encode().replace(b'"9.95"', b'"1e999999999"'),
}


def _signature(body: bytes) -> str:
    digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _shopify(db: Database) -> int:
    save_connection(
        db,
        ConnectionInput(
            code="shop",
            platform="shopify",
            channel="web",
            config={
                "shop": "my-store",
                "access_token": "shpat_x",
                "client_secret": SHOPIFY_SECRET,
                "endpoint": "http://127.0.0.1:9",
            },
            subscriptions=(JobKind.ORDERS,),
        ),
    )
    with db.read() as conn:
        return int(conn.execute(select(connections.c.id)).scalar_one())


def _store(db: Database, connection_id: int, key: str, body: bytes) -> None:
    """A message as the webhook endpoint stores it after verifying its signature."""
    headers = {
        "x-shopify-hmac-sha256": _signature(body),
        "x-shopify-topic": "orders/create",
        "x-shopify-webhook-id": key,
    }
    with db.transaction() as conn:
        conn.execute(
            insert(inbox).values(
                connection_id=connection_id,
                dedupe_key=key,
                topic="orders/create",
                body=body.decode("utf-8", errors="replace"),
                headers=headers,
                state="new",
                attempts=0,
                received_at=utcnow(),
            )
        )


@pytest.mark.parametrize("kind", sorted(POISON))
def test_a_poison_message_is_dead_lettered_and_the_orders_behind_it_imported(
    world: Database, kind: str
) -> None:
    stock(world, "wh", MUG_1=50)
    connection_id = _shopify(world)
    _store(world, connection_id, "poison", POISON[kind])
    for number in (1, 2):
        _store(world, connection_id, f"valid-{number}", json.dumps(_order(number)).encode())

    async def run() -> None:
        worker = Worker(world, tick=0.01)
        stop = asyncio.Event()
        running = asyncio.ensure_future(worker.run(stop))
        for _ in range(2000):
            await asyncio.sleep(0.02)
            assert not running.done(), "the worker stopped on a message"
            with world.read() as conn:
                states = set(conn.execute(select(inbox.c.state)).scalars())
            if states <= {"done", "dead"}:
                break
        stop.set()
        await running

    asyncio.run(run())
    with world.read() as conn:
        rows = {r.dedupe_key: r for r in conn.execute(select(inbox))}
    assert rows["valid-1"].state == rows["valid-2"].state == "done"
    poison = rows["poison"]
    assert poison.state == "dead"
    assert poison.attempts == 4  # CHANNELHUB_SYNC_MAX_ATTEMPTS in tests/sync
    assert "Traceback" in poison.last_error
    assert find_order(world, "web", "gid://shopify/Order/1").lines
    assert find_order(world, "web", "gid://shopify/Order/2").lines


def test_an_inbox_message_held_by_a_stopped_worker_is_taken_over(world: Database) -> None:
    stock(world, "wh", MUG_1=5)
    connection_id = _shopify(world)
    _store(world, connection_id, "valid-5", json.dumps(_order(5)).encode())
    with world.transaction() as conn:  # claimed by a worker that was killed: lease expired
        conn.execute(inbox.update().values(state="processing", attempts=1, lease_until=utcnow()))
    assert apply_inbox(world) == 1
    with world.read() as conn:
        assert conn.execute(select(inbox.c.state)).scalar_one() == "done"
    assert find_order(world, "web", "gid://shopify/Order/5").lines
