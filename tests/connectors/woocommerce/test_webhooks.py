"""Webhook signatures (X-WC-Webhook-Signature), secret rotation, the creation ping, and what a
verified delivery carries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx

from channelhub.connectors.woocommerce import WooCommerceConnector
from channelhub.sandbox.woocommerce import WooState, sign

from .conftest import config_for

ORDER = {
    "id": 727,
    "status": "processing",
    "currency": "EUR",
    "date_created_gmt": "2026-11-20T10:00:00",
    "date_modified_gmt": "2026-11-20T10:00:00",
    "billing": {"first_name": "Jane", "email": "jane@example.com"},
    "line_items": [{"id": 1, "sku": "MUG-1", "quantity": 1, "subtotal": "5.00", "total": "5.00"}],
}


_OFFLINE = httpx.AsyncClient()  # verifying and parsing make no calls


def connector(state: WooState, **overrides: object) -> WooCommerceConnector:
    return WooCommerceConnector(config_for(state, **overrides), _OFFLINE)


def headers(body: bytes, secret: str, topic: str = "order.created") -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-Delivery-ID": "d-1",
        "Content-Type": "application/json",
    }


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = json.dumps(ORDER).encode()
    expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert sign(body, "s3cret") == expected
    state = WooState(webhook_secret="s3cret")
    woo = connector(state)
    assert woo.verify_webhook({"x-wc-webhook-signature": expected}, body)  # any header case
    assert not woo.verify_webhook({"X-WC-Webhook-Signature": expected}, body + b" ")
    assert not woo.verify_webhook(headers(body, "other"), body)
    assert not woo.verify_webhook({}, body)
    assert not woo.verify_webhook({"X-WC-Webhook-Signature": "%%not base64%%"}, body)


def test_previous_secrets_verify_during_a_rotation() -> None:
    state = WooState(webhook_secret="new-secret")
    woo = connector(state, previous_webhook_secrets=["old-secret"])
    body = json.dumps(ORDER).encode()
    assert woo.verify_webhook(headers(body, "old-secret"), body)
    assert woo.verify_webhook(headers(body, "new-secret"), body)
    assert not connector(state).verify_webhook(headers(body, "old-secret"), body)


def test_without_a_webhook_secret_nothing_signed_verifies() -> None:
    state = WooState()
    woo = connector(state, webhook_secret=None)
    body = json.dumps(ORDER).encode()
    assert not woo.verify_webhook(headers(body, ""), body)


def test_the_creation_ping_is_accepted_and_carries_nothing() -> None:
    woo = connector(WooState())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # The inbox answers a ping 2xx and stores nothing; it is not a signed message.
    assert woo.is_ping(form, b"webhook_id=12")
    assert not woo.verify_webhook(form, b"webhook_id=12")
    message = woo.parse_webhook(form, b"webhook_id=12")
    assert (message.event_id, message.topic, message.order) == ("ping:12", "ping", None)
    # Anything else unsigned is not a ping.
    assert not woo.is_ping(form, b"webhook_id=12&status=completed")
    assert not woo.is_ping({"X-WC-Webhook-Topic": "order.created"}, b"webhook_id=12")


def test_an_order_delivery_carries_the_order_and_its_delivery_id() -> None:
    state = WooState()
    woo = connector(state)
    body = json.dumps(ORDER).encode()
    message = woo.parse_webhook(headers(body, state.webhook_secret), body)
    assert message.event_id == "delivery:d-1" and message.topic == "order.created"
    assert message.entity == "727"
    assert message.order is not None and message.order.lines[0].sku == "MUG-1"
    product = woo.parse_webhook(headers(b'{"id": 5}', "x", "product.updated"), b'{"id": 5}')
    assert product.order is None and product.topic == "product.updated"
