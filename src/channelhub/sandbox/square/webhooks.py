"""Signed event notifications as Square sends them: ``x-square-hmacsha256-signature`` is the
base64 HMAC-SHA256, keyed by the subscription's signature key, of the notification URL followed
by the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from channelhub.sandbox.square.state import SquareState, new_id, now_rfc3339


def signature(key: str, url: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def order_event(state: SquareState, order: dict[str, Any], event_type: str) -> dict[str, Any]:
    """An ``order.created`` or ``order.updated`` notification: a reference, not the order."""
    kind = event_type.replace(".", "_")  # order_created, order_updated
    return {
        "merchant_id": state.merchant_id,
        "type": event_type,
        "event_id": new_id().lower(),
        "created_at": now_rfc3339(),
        "data": {
            "type": "order",
            "id": order["id"],
            "object": {
                kind: {
                    "order_id": order["id"],
                    "version": order["version"],
                    "location_id": order["location_id"],
                    "state": order["state"],
                    "created_at": order["created_at"],
                }
            },
        },
    }


def send_webhook(
    state: SquareState,
    url: str,
    order: dict[str, Any],
    event_type: str = "order.created",
    *,
    key: str | None = None,
    event: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST a signed notification about ``order`` to ``url`` (the subscription's notification
    URL); ``key`` signs with another key (a forgery), ``event`` resends a given event."""
    body = json.dumps(event or order_event(state, order, event_type)).encode()
    headers = {
        "content-type": "application/json",
        "square-environment": "Sandbox",
        "x-square-hmacsha256-signature": signature(key or state.signature_key, url, body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)
