"""WooCommerce's unsigned creation ping is answered 200 (WooCommerce will not save a webhook
whose URL does not answer 2xx) and stores nothing: no inbox row, no message-log row."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channelhub.api.app import create_app
from channelhub.core.database import Database
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.store import inbox, messages

SECRET = "woo-webhook-secret"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _woo(db: Database) -> TestClient:
    save_connection(
        db,
        ConnectionInput(
            code="woo",
            platform="woocommerce",
            channel="webshop",
            config={
                "store_url": "http://127.0.0.1:9",
                "consumer_key": "ck_test",
                "consumer_secret": "cs_test",
                "webhook_secret": SECRET,
            },
            subscriptions=(),
        ),
    )
    return TestClient(create_app(db), raise_server_exceptions=False)


def test_unsigned_pings_are_answered_200_and_store_nothing(db: Database, monkeypatch: Any) -> None:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "k" * 32)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    from channelhub.demo.load import load_sample_catalog

    load_sample_catalog(db)
    client = _woo(db)
    inbox_before, log_before = _count(db, inbox), _count(db, messages)
    for webhook_id in range(1, 51):
        answer = client.post(
            "/api/v1/webhooks/woo", content=f"webhook_id={webhook_id}", headers=FORM
        )
        assert answer.status_code == 200, answer.text
    assert _count(db, inbox) == inbox_before
    assert _count(db, messages) == log_before
    # an unsigned body that is not a ping is refused, and a signed delivery is still stored
    assert client.post("/api/v1/webhooks/woo", content=b"{}").status_code == 401
    body = json.dumps({"id": 5}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    headers = {
        "X-WC-Webhook-Signature": signature.decode(),
        "X-WC-Webhook-Topic": "product.updated",
        "X-WC-Webhook-Delivery-ID": "d-1",
    }
    assert client.post("/api/v1/webhooks/woo", content=body, headers=headers).status_code == 202
    assert _count(db, inbox) == inbox_before + 1
    get_settings.cache_clear()
