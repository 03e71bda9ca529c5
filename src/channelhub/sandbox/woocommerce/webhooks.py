"""Webhooks as WooCommerce delivers them: the REST resource as the JSON body, the documented
``X-WC-Webhook-*`` headers, and ``X-WC-Webhook-Signature`` = base64 HMAC-SHA256 of the raw
body keyed with the webhook's secret; and the unsigned ``webhook_id=<id>`` ping it sends when a
webhook is saved."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from channelhub.sandbox.woocommerce.state import WooState

USER_AGENT = "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)"


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_webhook(
    state: WooState,
    url: str,
    topic: str,
    resource: dict[str, Any],
    *,
    webhook_id: int = 1,
    delivery_id: str | None = None,
    secret: str | None = None,
) -> httpx.Response:
    """POST ``resource`` to ``url`` as a ``topic`` delivery (e.g. ``order.created``)."""
    body = json.dumps(resource).encode()
    kind, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-WC-Webhook-Source": state.site_url.rstrip("/") + "/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": kind,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(body, secret or state.webhook_secret),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


def send_ping(url: str, webhook_id: int = 1) -> httpx.Response:
    """The ping WooCommerce sends to a webhook's delivery URL when the webhook is saved."""
    return httpx.post(
        url,
        content=f"webhook_id={webhook_id}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
        timeout=10,
    )
