"""Shopify webhook signatures and topics.

shopify.dev "Deliver webhooks through HTTPS" (read for 2026-01): ``X-Shopify-Hmac-Sha256`` is
the base64 HMAC-SHA256 of the raw body keyed with the app's client secret; compare in constant
time on the raw bytes, before parsing. Retries (8 over 4 hours) keep ``X-Shopify-Webhook-Id``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping

ORDER_TOPICS = frozenset(
    {"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/edited"}
)
SUBSCRIBED_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED")  # WebhookSubscriptionTopic values


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (frameworks differ in how they pass them)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def expected_signature(body: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def is_signed_by_any(headers: Mapping[str, str], body: bytes, secrets: Iterable[str]) -> bool:
    """Whether ``body`` carries a valid signature from one of ``secrets``. Never raises."""
    given = header(headers, "X-Shopify-Hmac-Sha256")
    if not given:
        return False
    try:
        signature = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    valid = False
    for secret in secrets:
        if secret:
            # Check every live secret (no early exit) so timing does not tell which matched.
            valid |= hmac.compare_digest(signature, expected_signature(body, secret))
    return valid
