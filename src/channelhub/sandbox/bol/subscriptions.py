"""Retailer API v10 push notification subscriptions in the sandbox, and the signed notifications
bol.com sends to a WEBHOOK subscription.

Contract: ``shared/specs/bol/retailer-v10.json`` (``/retailer/subscriptions*``: create, update
and delete answer 202 with a process status whose ``entityId`` is the subscription id;
``/retailer/subscriptions/signature-keys`` serves ``{signatureKeys: [{id, type: RSA,
publicKey}]}``, the Base64 DER public key whose ``id`` is the ``keyId`` of the signature header).

A notification is what bol.com documents (api.bol.com/retailer/public/Retailer-API/v10/
functional/retailer-api/subscriptions.html): ``{"retailerId", "timestamp", "event":
{"resource", "type", "resourceId"}}`` POSTed as JSON to the subscription's url, with the header
``Signature: keyId=<id>, algorithm="rsa-sha256", signature=<Base64>``: an RSA PKCS#1 v1.5
signature with SHA-256 over the raw body, checked against the key of that id.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.bol import validation
from channelhub.sandbox.bol.errors import V10, instance_of, invalid, json_body, problem
from channelhub.sandbox.bol.state import BolState, now_iso

SIGNATURE_HEADER = "Signature"


def public_key_b64(key: rsa.RSAPrivateKey) -> str:
    """The public half as bol.com serves it: Base64 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def signed(
    state: BolState,
    resource: str,
    payload: dict[str, Any],
    *,
    key: rsa.RSAPrivateKey | None = None,
    key_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of one notification (``key``/``key_id`` override: forgeries)."""
    body = json.dumps(
        {
            "retailerId": state.retailer_id,
            "timestamp": now_iso(),
            "event": {"resource": resource, **payload},
        },
        separators=(",", ":"),
    ).encode()
    signature = (key or state.signing_key).sign(body, padding.PKCS1v15(), hashes.SHA256())
    header = (
        f'keyId={key_id or state.signature_key_id}, algorithm="rsa-sha256", '
        f"signature={base64.b64encode(signature).decode()}"
    )
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: header}


def notify(
    state: BolState,
    url: str,
    resource: str,
    payload: dict[str, Any],
    *,
    key: rsa.RSAPrivateKey | None = None,
    key_id: str | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST one signed notification to ``url`` as bol.com does; e.g. a new order:
    ``notify(state, url, "ORDER", {"type": "NEW_ORDER", "resourceId": order_id})``."""
    body, headers = signed(state, resource, payload, key=key, key_id=key_id)
    return httpx.post(url, content=body, headers=headers, timeout=timeout)


# --- endpoints ---------------------------------------------------------------------------------


def _view(subscription: dict[str, Any]) -> dict[str, Any]:
    return dict(subscription)


def _not_found(request: Request) -> Response:
    return problem(
        404, "Not Found", "Subscription not found.", media_type=V10, instance=instance_of(request)
    )


def _accepted(
    request: Request, state: BolState, event_type: str, subscription_id: str, what: str
) -> Response:
    process = state.start_process(event_type, subscription_id, what, lambda: None)
    base = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse(process.body(base), status_code=202, media_type=V10)


def _from_body(subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    subscription = {
        "id": subscription_id,
        "resources": list(dict.fromkeys(body["resources"])),
        "url": body["url"],
        "subscriptionType": body["subscriptionType"],
        "enabled": True if body.get("enabled") is None else body["enabled"],
    }
    if body.get("identity") is not None:
        subscription["identity"] = body["identity"]
    return subscription


async def list_subscriptions(request: Request, state: BolState) -> Response:
    body = {"subscriptions": [_view(s) for s in state.subscriptions.values()]}
    return JSONResponse(body, media_type=V10)


async def create_subscription(request: Request, state: BolState) -> Response:
    body = await json_body(request)
    violations = validation.subscription_violations(body)
    if violations:
        return invalid(request, violations, V10)
    subscription_id = str(state.next_id())
    state.subscriptions[subscription_id] = _from_body(subscription_id, body)
    return _accepted(
        request,
        state,
        "CREATE_SUBSCRIPTION",
        subscription_id,
        f"Create push notification subscription {subscription_id}.",
    )


async def get_subscription(request: Request, state: BolState) -> Response:
    subscription = state.subscriptions.get(request.path_params["id"])
    if subscription is None:
        return _not_found(request)
    return JSONResponse(_view(subscription), media_type=V10)


async def update_subscription(request: Request, state: BolState) -> Response:
    subscription_id = request.path_params["id"]
    if subscription_id not in state.subscriptions:
        return _not_found(request)
    body = await json_body(request)
    violations = validation.subscription_violations(body)
    if violations:
        return invalid(request, violations, V10)
    state.subscriptions[subscription_id] = _from_body(subscription_id, body)
    return _accepted(
        request,
        state,
        "UPDATE_SUBSCRIPTION",
        subscription_id,
        f"Update push notification subscription {subscription_id}.",
    )


async def delete_subscription(request: Request, state: BolState) -> Response:
    subscription_id = request.path_params["id"]
    if state.subscriptions.pop(subscription_id, None) is None:
        return _not_found(request)
    return _accepted(
        request,
        state,
        "DELETE_SUBSCRIPTION",
        subscription_id,
        f"Delete push notification subscription {subscription_id}.",
    )


async def test_subscription(request: Request, state: BolState) -> Response:
    """Sends a TEST notification to the subscription's url (WEBHOOK only), then answers 202."""
    subscription_id = request.path_params["id"]
    subscription = state.subscriptions.get(subscription_id)
    if subscription is None:
        return _not_found(request)
    if subscription["subscriptionType"] == "WEBHOOK":
        body, headers = signed(state, "TEST", {"type": "TEST", "resourceId": subscription_id})
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await client.post(subscription["url"], content=body, headers=headers)
        except httpx.HTTPError:
            pass  # bol.com retries a failed delivery later; the sandbox drops it
    return _accepted(
        request,
        state,
        "SEND_TEST_NOTIFICATION",
        subscription_id,
        f"Send test push notification for subscription {subscription_id}.",
    )


async def signature_keys(request: Request, state: BolState) -> Response:
    key = {
        "id": state.signature_key_id,
        "type": "RSA",
        "publicKey": public_key_b64(state.signing_key),
    }
    return JSONResponse({"signatureKeys": [key]}, media_type=V10)
