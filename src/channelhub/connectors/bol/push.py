"""bol.com push notifications (Retailer API v10 subscriptions): signature checks and parsing.

How bol.com signs (api.bol.com/retailer/public/Retailer-API/v10/functional/retailer-api/
subscriptions.html, and the ``KeySet`` schema of ``shared/specs/bol/retailer-v10.json``: "Key
identifier. Maps to the keyId value in the signature header of the push request"): every
notification carries ``Signature: keyId=<id>, algorithm="rsa-sha256", signature=<Base64>``, an
RSA (PKCS#1 v1.5) signature with SHA-256 over the raw request body. The public keys come from
``GET /retailer/subscriptions/signature-keys`` as ``{signatureKeys: [{id, type: "RSA",
publicKey: <Base64 DER>}]}``. The body is ``{"retailerId", "timestamp", "event": {"resource",
"type", "resourceId"}}`` with resource ORDER, SHIPMENT, PROCESS_STATUS, ... (TEST for a test
notification): a reference only, never the order itself.

Keys are cached per API url for the process (``verify_webhook`` is synchronous and its
connector is short-lived): the connector's async calls refresh them (``refresh_keys``), and a
notification signed with a key id we do not know triggers one blocking fetch, at most once a
minute, so a rotation is picked up and forgeries cannot make us hammer bol.com.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE_HEADER = "signature"
KEYS_PATH = "/retailer/subscriptions/signature-keys"
KEYS_MAX_AGE_SECONDS = 3600.0  # refresh from the async paths once an hour
BLOCKING_FETCH_INTERVAL_SECONDS = 60.0  # at most one blocking fetch a minute per API url
#: bol.com's resources and the hub's inbox topics.
TOPICS = {
    "ORDER": "orders",
    "SHIPMENT": "shipments",
    "PROCESS_STATUS": "process_status",
    "TEST": "test",
}
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*("([^"]*)"|[^,]*)\s*(?:,|$)')


@dataclass
class _KeySet:
    keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    attempted_at: float = float("-inf")


_cache: dict[str, _KeySet] = {}
_lock = threading.Lock()


def _entry(api_url: str) -> _KeySet:
    with _lock:
        return _cache.setdefault(api_url.rstrip("/"), _KeySet())


def forget_keys() -> None:
    """Drop every cached key (tests)."""
    with _lock:
        _cache.clear()


def load_keys(body: Any) -> dict[str, rsa.RSAPublicKey]:
    """The RSA public keys of a ``KeySetResponse`` by id; unreadable entries are skipped."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    for item in (body or {}).get("signatureKeys") or []:
        try:
            raw = str(item["publicKey"]).strip()
            if raw.startswith("-----BEGIN"):
                key = serialization.load_pem_public_key(raw.encode())
            else:
                key = serialization.load_der_public_key(base64.b64decode(raw))
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
        if isinstance(key, rsa.RSAPublicKey):
            keys[str(item["id"])] = key
    return keys


def store_keys(api_url: str, keys: dict[str, rsa.RSAPublicKey]) -> None:
    entry = _entry(api_url)
    with _lock:
        entry.keys = keys
        entry.fetched_at = entry.attempted_at = time.monotonic()


def keys_stale(api_url: str) -> bool:
    return time.monotonic() - _entry(api_url).fetched_at > KEYS_MAX_AGE_SECONDS


def parse_signature(header: str) -> tuple[str, str, bytes] | None:
    """``(keyId, algorithm, signature bytes)`` of a ``Signature`` header, or None."""
    params = {m.group(1).lower(): m.group(3) or m.group(2).strip() for m in _PARAM.finditer(header)}
    try:
        signature = base64.b64decode(params["signature"], validate=True)
        return params["keyid"], params.get("algorithm", "rsa-sha256").lower(), signature
    except (KeyError, ValueError, binascii.Error):
        return None


def verify(
    api_url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    fetch_blocking: Any = None,
) -> bool:
    """Whether ``body`` carries a valid bol.com signature. Never raises."""
    header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    parsed = parse_signature(header) if header else None
    if parsed is None:
        return False
    key_id, algorithm, signature = parsed
    if algorithm != "rsa-sha256":
        return False
    entry = _entry(api_url)
    key = entry.keys.get(key_id)
    if key is None and fetch_blocking is not None:
        with _lock:
            due = time.monotonic() - entry.attempted_at >= BLOCKING_FETCH_INTERVAL_SECONDS
            if due:
                entry.attempted_at = time.monotonic()
        if due:
            try:
                store_keys(api_url, fetch_blocking())
            except Exception:  # unreachable, refused, unreadable: the message is not verified
                return False
            key = _entry(api_url).keys.get(key_id)
    if key is None:
        return False
    try:
        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def fetch_keys_blocking(
    api_url: str, login_url: str, client_id: str, client_secret: str
) -> dict[str, rsa.RSAPublicKey]:
    """The signature keys, fetched synchronously (client-credentials token, then the keys)."""
    with httpx.Client(timeout=10) as http:
        token = http.post(
            login_url.rstrip("/") + "/token",
            params={"grant_type": "client_credentials"},
            auth=httpx.BasicAuth(client_id, client_secret),
            headers={"Accept": "application/json"},
        )
        token.raise_for_status()
        response = http.get(
            api_url.rstrip("/") + KEYS_PATH,
            headers={
                "Accept": "application/vnd.retailer.v10+json",
                "Authorization": f"Bearer {token.json()['access_token']}",
            },
        )
        response.raise_for_status()
        return load_keys(response.json())


@dataclass(frozen=True)
class Notification:
    event_id: str
    topic: str
    resource_id: str | None


def parse(body: bytes) -> Notification:
    """The notification's stable id (resource, type, resource id and bol.com's timestamp: a
    redelivery repeats them all), its inbox topic and the id of what it is about."""
    data = json.loads(body)
    event = data["event"]
    resource = str(event["resource"]).upper()
    resource_id = event.get("resourceId")
    resource_id = None if resource_id is None else str(resource_id)
    key = "|".join(
        [resource, str(event.get("type", "")), resource_id or "", str(data.get("timestamp", ""))]
    )
    event_id = "bol:" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return Notification(event_id, TOPICS.get(resource, resource.lower()), resource_id)
