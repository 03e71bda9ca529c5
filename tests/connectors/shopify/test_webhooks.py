"""Webhook signatures (forged, rotated secret, garbage) and parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from channelhub.connectors.base import PermanentError
from channelhub.connectors.shopify import ShopifyConfig, ShopifyConnector

BODY = json.dumps(
    {
        "id": 1001,
        "admin_graphql_api_id": "gid://shopify/Order/1001",
        "created_at": "2026-01-10T10:00:00Z",
        "updated_at": "2026-01-10T10:00:00Z",
        "currency": "EUR",
        "financial_status": "paid",
        "line_items": [
            {
                "id": 5,
                "admin_graphql_api_id": "gid://shopify/LineItem/5",
                "sku": "MUG",
                "quantity": 1,
                "price": "9.95",
            }
        ],
    }
).encode()


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def connector(secret: str = "new-secret", previous: str | None = None) -> ShopifyConnector:
    config = ShopifyConfig(
        shop="my-store",
        access_token="shpat_x",
        client_secret=secret,
        previous_client_secret=previous,
    )
    return ShopifyConnector(config, httpx.AsyncClient())


def headers(sig: str, **extra: str) -> dict[str, str]:
    return {
        "x-shopify-hmac-sha256": sig,
        "x-shopify-topic": "orders/create",
        "x-shopify-webhook-id": "wh-1",
        **extra,
    }


def test_a_correctly_signed_webhook_is_accepted_whatever_the_header_case() -> None:
    assert connector().verify_webhook(headers(signature(BODY, "new-secret")), BODY)
    assert connector().verify_webhook(
        {"X-Shopify-Hmac-SHA256": signature(BODY, "new-secret")}, BODY
    )


def test_a_forged_or_altered_webhook_is_rejected() -> None:
    c = connector()
    assert not c.verify_webhook(headers(signature(BODY, "guessed")), BODY)
    assert not c.verify_webhook(headers(signature(BODY, "new-secret")), BODY + b" ")
    assert not c.verify_webhook({}, BODY)


@pytest.mark.parametrize("garbage", ["", "not base64!!", "====", "\u00e9t\u00e9", "a" * 10_000])
def test_garbage_signatures_are_rejected_without_raising(garbage: str) -> None:
    assert not connector().verify_webhook(headers(garbage), BODY)


def test_both_secrets_are_live_during_a_rotation() -> None:
    rotating = connector("new-secret", previous="old-secret")
    assert rotating.verify_webhook(headers(signature(BODY, "old-secret")), BODY)
    assert rotating.verify_webhook(headers(signature(BODY, "new-secret")), BODY)
    assert not rotating.verify_webhook(headers(signature(BODY, "older-secret")), BODY)
    # once the rotation ends the old secret no longer works
    assert not connector("new-secret").verify_webhook(headers(signature(BODY, "old-secret")), BODY)


def test_an_order_webhook_is_parsed_with_its_dedupe_id() -> None:
    message = connector().parse_webhook(headers("x"), BODY)
    assert message.event_id == "wh-1"
    assert message.topic == "orders/create"
    assert message.entity == "gid://shopify/Order/1001"
    assert message.order is not None and message.order.lines[0].sku == "MUG"


def test_without_a_webhook_id_the_dedupe_id_is_the_event_id_then_a_hash() -> None:
    c = connector()
    assert (
        c.parse_webhook(
            {"X-Shopify-Topic": "orders/updated", "X-Shopify-Event-Id": "ev-9"}, BODY
        ).event_id
        == "ev-9"
    )
    hashed = c.parse_webhook({"X-Shopify-Topic": "orders/updated"}, BODY).event_id
    assert hashed == "sha256:" + hashlib.sha256(BODY).hexdigest()


def test_other_topics_carry_no_order_and_garbage_bodies_are_permanent_errors() -> None:
    message = connector().parse_webhook(
        {"X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": "w"},
        b'{"admin_graphql_api_id": "gid://shopify/Product/1"}',
    )
    assert message.order is None and message.entity == "gid://shopify/Product/1"
    with pytest.raises(PermanentError):
        connector().parse_webhook(headers("x"), b"not json")
