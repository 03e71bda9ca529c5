"""The webhook inbox on both databases: signature first (a forged message stores nothing),
dedupe on redelivery, each message applied once through the order service."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channelhub.api.app import create_app
from channelhub.connectors.webhook import sign
from channelhub.core.database import Database
from channelhub.orders.service import find_order
from channelhub.sync.connections import ConnectionInput, get_connection, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.store import inbox, messages
from tests.inventory.factories import stock
from tests.sync.conftest import SECRET, Receiver, connect, drain


def _order_message(event_id: str, external_id: str) -> bytes:
    document: dict[str, Any] = {
        "id": event_id,
        "topic": "orders/create",
        "order": {
            "external_id": external_id,
            "created_at": "2026-11-20T10:00:00+00:00",
            "currency": "EUR",
            "customer_email": "ann@example.com",
            "lines": [
                {"external_line_id": "l1", "sku": "MUG-1", "quantity": 1, "unit_price": "9.95"}
            ],
        },
    }
    return orjson.dumps(document)


def _count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def api(world: Database, receiver: Receiver) -> TestClient:
    connect(world, receiver, code="shop")
    stock(world, "wh", MUG_1=5)
    return TestClient(create_app(world))


def _post(api: TestClient, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Channelhub-Signature"] = signature
    return api.post("/api/v1/webhooks/shop", content=body, headers=headers)


def test_a_forged_webhook_stores_nothing(world: Database, api: TestClient) -> None:
    body = _order_message("evt-1", "W-1")
    before = _count(world, messages)
    for signature in (None, "sha256=00", sign("not-the-secret", body), "garbage\x7f"):
        answer = _post(api, body, signature)
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    tampered = body.replace(b'"quantity":1', b'"quantity":9')
    assert _post(api, tampered, sign(SECRET, body)).status_code == 401
    assert _count(world, inbox) == 0
    assert _count(world, messages) == before


def test_a_redelivery_is_accepted_once_and_the_order_imported_once(
    world: Database, api: TestClient
) -> None:
    body = _order_message("evt-2", "W-2")
    for _ in range(3):  # platforms redeliver
        answer = _post(api, body, sign(SECRET, body))
        assert answer.status_code == 202, answer.text
    assert _count(world, inbox) == 1
    again = _order_message("evt-3", "W-2")  # another event about the same order
    assert _post(api, again, sign(SECRET, again)).status_code == 202
    drain(world)
    order = find_order(world, "web", "W-2")
    assert [line.sku for line in order.lines] == ["MUG-1"]
    with world.read() as conn:
        states = list(conn.execute(select(inbox.c.state)).scalars())
    assert states == ["done", "done"]


def test_unknown_connection_and_unreadable_message(world: Database, api: TestClient) -> None:
    answer = api.post("/api/v1/webhooks/nobody", content=b"{}")
    assert answer.status_code == 404
    body = b'{"no": "id"}'
    assert _post(api, body, sign(SECRET, body)).status_code == 422
    assert _count(world, inbox) == 0


def test_both_secrets_verify_during_a_rotation(world: Database, receiver: Receiver) -> None:
    save_connection(
        world,
        ConnectionInput(
            code="rotating",
            platform="webhook",
            channel="web",
            config={"url": receiver.url, "secret": "new-secret-123", "previous_secrets": [SECRET]},
            subscriptions=(JobKind.ORDERS,),
        ),
    )
    api = TestClient(create_app(world))
    for event, secret in (("r-1", "new-secret-123"), ("r-2", SECRET)):
        body = _order_message(event, event)
        headers = {"X-Channelhub-Signature": sign(secret, body)}
        assert (
            api.post("/api/v1/webhooks/rotating", content=body, headers=headers).status_code == 202
        )
    body = _order_message("r-3", "r-3")
    headers = {"X-Channelhub-Signature": sign("retired-secret", body)}
    assert api.post("/api/v1/webhooks/rotating", content=body, headers=headers).status_code == 401
    assert _count(world, inbox) == 2
    assert get_connection(world, "rotating").config["previous_secrets"] == "**********"
