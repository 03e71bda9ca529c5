"""WooCommerce webhook signatures, topics and the creation ping.

From the REST API v3 reference ("Webhooks, Delivery/payload"): every delivery is a POST of the
resource as the REST API shows it, with ``X-WC-Webhook-Topic`` (``order.created``),
``X-WC-Webhook-Resource``, ``X-WC-Webhook-Event``, ``X-WC-Webhook-ID``,
``X-WC-Webhook-Delivery-ID`` and ``X-WC-Webhook-Signature``: base64 of the HMAC-SHA256 of the
raw body keyed with the webhook's secret. When a webhook is saved, WooCommerce first POSTs a
ping whose body is ``webhook_id=<id>`` (form encoded, unsigned) and refuses to save the
webhook unless the delivery URL answers 2xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})
PING = re.compile(rb"^webhook_id=(\d{1,20})$")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def signature(body: bytes, secret: str) -> str:
    """``X-WC-Webhook-Signature`` of ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def ping_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """The webhook id of WooCommerce's creation ping, or None when this is not one."""
    if header(headers, "X-WC-Webhook-Topic") or header(headers, "X-WC-Webhook-Signature"):
        return None
    match = PING.match(body.strip())
    return match.group(1).decode() if match else None


def is_signed_by_any(headers: Mapping[str, str], body: bytes, secrets: Iterable[str]) -> bool:
    """Whether ``body`` carries a valid signature from one of ``secrets``. Never raises."""
    given = header(headers, "X-WC-Webhook-Signature")
    if not given:
        return False
    try:
        decoded = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    valid = False
    for secret in secrets:
        if secret:
            expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
            valid |= hmac.compare_digest(decoded, expected)  # no early exit: timing is flat
    return valid
