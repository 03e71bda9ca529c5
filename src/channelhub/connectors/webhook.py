"""A generic outbound webhook connector: the hub POSTs JSON to any URL, signed with
HMAC-SHA256 over the raw body (``X-Channelhub-Signature: sha256=<hex>``).

Contract (channelhub's own, version 1): ``POST {url}`` with ``{"id", "topic", "items"}`` where
topic is ``stock`` (items: sku, quantity), ``prices`` (sku, amount, currency, compare_at),
``listings`` (sku, title, ...) or ``ping``; any 2xx is success, 429 and 5xx are retried.
The document's ``version`` (nanoseconds since the epoch when sent) lets a receiver ignore a
request that arrives after a newer one for the same SKU (a compare-and-set: a request that
timed out on the hub's side may still be applied late by the receiver).
``POST {url}/read`` with ``{"topic": "stock"|"prices", "skus": [...]}`` answers
``{"items": {sku: value}}`` for reconciliation.

Inbound, the other side POSTs ``{"id", "topic": "orders/create", "order": {...}}`` to the hub's
webhook endpoint, signed the same way with ``secret`` (or any of ``previous_secrets`` during a
rotation); ``order`` holds external_id, created_at, currency, lines (external_line_id, sku,
quantity, unit_price) and optionally customer_email, customer_name, addresses, pickup_location,
is_paid and cancelled. The body's JSON Schema (draft 2020-12) is ``schemas/order-webhook.v1.json``,
served at ``/api/v1/schemas/order-webhook.v1.json``; a body that breaks it is refused with the
field and the reason.

Outbound orders (``forward_order``, used by automation rules): the hub POSTs the same document,
``{"id", "topic": "orders/create", "order": {...}}``, so a receiver can use the same schema.

Event webhooks (``channelhub.automation.webhooks``) sign ``<timestamp>.<raw body>`` and send the
timestamp in ``X-Channelhub-Timestamp`` (``sign_timestamped``, ``verify_timestamped``), so a
receiver can refuse a replayed request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import orjson
from pydantic import Field, SecretStr

from channelhub.connectors.base import (
    Accepted,
    Capability,
    ChannelAddress,
    ChannelOrder,
    ChannelOrderLine,
    ChannelPrice,
    Connector,
    ConnectorConfig,
    Listing,
    RateLimit,
    StockLevel,
    TransientError,
    WebhookMessage,
    error_from_response,
)
from channelhub.schemas import ORDER_WEBHOOK_V1, load_schema

SIGNATURE_HEADER = "X-Channelhub-Signature"
TIMESTAMP_HEADER = "X-Channelhub-Timestamp"
#: How old a timestamped signature may be before a receiver refuses it as a replay.
REPLAY_TOLERANCE_SECONDS = 300


class WebhookConfig(ConnectorConfig):
    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: SecretStr = Field(min_length=8)
    previous_secrets: tuple[SecretStr, ...] = Field(default=(), max_length=3)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_timestamped(secret: str, timestamp: int, body: bytes) -> str:
    """The signature of an event webhook: HMAC-SHA256 over ``<timestamp>.<raw body>``."""
    return sign(secret, str(timestamp).encode() + b"." + body)


def verify_timestamped(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = REPLAY_TOLERANCE_SECONDS,
) -> bool:
    """Whether an event webhook is signed with ``secret`` and recent enough (not a replay)."""
    lower = {k.lower(): v for k, v in headers.items()}
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    if not given or not stamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign_timestamped(secret, int(stamp), body), given)


class OrderDocumentInvalid(ValueError):
    """An inbound order document that breaks the published schema; says which field and why."""


_validator = jsonschema.Draft202012Validator(
    load_schema(ORDER_WEBHOOK_V1), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def _where(path: Sequence[Any]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.lstrip(".") or "(document)"


def check_order_document(document: Any) -> None:
    """Raise OrderDocumentInvalid naming every field that breaks ``order-webhook.v1.json``."""
    found = sorted(_validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    problems = [f"{_where(list(e.absolute_path))}: {e.message}" for e in found]
    if not found and isinstance(document, dict) and isinstance(document.get("order"), dict):
        created = document["order"].get("created_at")
        try:
            parsed = datetime.fromisoformat(str(created))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            problems.append(f"order.created_at: {created!r} is not a date-time with an offset")
    if problems:
        raise OrderDocumentInvalid("the order document breaks the schema: " + "; ".join(problems))


class WebhookConnector(Connector):
    platform = "webhook"
    api_version = "channelhub-webhook-1"
    capabilities = frozenset(
        {
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PUSH_LISTINGS,
            Capability.READ_STOCK,
            Capability.READ_PRICES,
            Capability.RECEIVE_WEBHOOKS,
        }
    )
    config_model = WebhookConfig
    rate_limit = RateLimit(rate=100, burst=200)
    max_batch = 100

    @property
    def _config(self) -> WebhookConfig:
        assert isinstance(self.config, WebhookConfig)
        return self.config

    async def _post(self, path: str, document: dict[str, Any]) -> httpx.Response:
        config = self._config
        body = orjson.dumps(document, default=str)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(config.secret.get_secret_value(), body),
        }
        try:
            response = await self.http.post(
                config.url.rstrip("/") + path,
                content=body,
                headers=headers,
                timeout=config.timeout_seconds,
            )
        except httpx.HTTPError as error:
            raise TransientError(f"POST {path or '/'}: {type(error).__name__}: {error}") from None
        if not response.is_success:
            raise error_from_response(response, response.text[:200])
        return response

    async def _send(self, topic: str, items: list[dict[str, Any]]) -> Accepted:
        document = {"id": uuid.uuid4().hex, "topic": topic, "version": time.time_ns()}
        await self._post("", {**document, "items": items})
        return Accepted()

    async def test_connection(self) -> str:
        await self._send("ping", [])
        return f"{self._config.url} answered"

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        return await self._send("stock", [{"sku": s.sku, "quantity": s.quantity} for s in levels])

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        items = [
            {
                "sku": p.sku,
                "amount": str(p.amount),
                "currency": p.currency,
                "compare_at": None if p.compare_at is None else str(p.compare_at),
            }
            for p in prices
        ]
        return await self._send("prices", items)

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        items = [{**asdict(x), "options": dict(x.options)} for x in listings]
        return await self._send("listings", items)

    async def _read(self, topic: str, skus: Sequence[str]) -> dict[str, Any]:
        response = await self._post("/read", {"topic": topic, "skus": list(skus)})
        items: dict[str, Any] = orjson.loads(response.content).get("items", {})
        return items

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        return {k: int(v) for k, v in (await self._read("stock", skus)).items()}

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        return {k: Decimal(str(v)) for k, v in (await self._read("prices", skus)).items()}

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER.lower())
        if not given:
            return False
        config = self._config
        secrets = (config.secret, *config.previous_secrets)
        return any(hmac.compare_digest(sign(s.get_secret_value(), body), given) for s in secrets)

    async def forward_order(self, order: ChannelOrder, source_channel: str) -> Accepted:
        """Create ``order`` on the other side: POST it as an ``orders/create`` document (its id
        is stable per source order, so a repeat is recognisable as a redelivery)."""
        document = {
            "id": f"{source_channel}:{order.external_id}",
            "topic": "orders/create",
            "order": order_document(order),
        }
        await self._post("", document)
        return Accepted(detail=f"POST {self._config.url}")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise OrderDocumentInvalid(f"the body is not JSON: {error}") from None
        check_order_document(document)
        raw = document.get("order")
        order = order_from_document(raw) if isinstance(raw, dict) else None
        return WebhookMessage(
            event_id=document["id"],
            topic=str(document.get("topic", "unknown")),
            entity=order.external_id if order else None,
            order=order,
        )


def order_from_document(raw: dict[str, Any]) -> ChannelOrder:
    """The ``order`` object of an ``order-webhook.v1.json`` document as a ChannelOrder."""
    return ChannelOrder(
        external_id=str(raw["external_id"]),
        created_at=datetime.fromisoformat(str(raw["created_at"])),
        currency=str(raw["currency"]),
        lines=tuple(
            ChannelOrderLine(
                external_line_id=str(line["external_line_id"]),
                sku=str(line["sku"]),
                quantity=int(line["quantity"]),
                unit_price=Decimal(str(line["unit_price"])),
                discount=Decimal(str(line.get("discount", 0))),
                tax=Decimal(str(line.get("tax", 0))),
            )
            for line in raw.get("lines", [])
        ),
        customer_email=raw.get("customer_email"),
        customer_name=raw.get("customer_name"),
        shipping_address=_address(raw.get("shipping_address")),
        billing_address=_address(raw.get("billing_address")),
        pickup_location=raw.get("pickup_location"),
        is_paid=bool(raw.get("is_paid", True)),
        cancelled=bool(raw.get("cancelled", False)),
    )


def _address(raw: Any) -> ChannelAddress | None:
    if not isinstance(raw, dict):
        return None
    return ChannelAddress(**{k: (str(v) if v is not None else None) for k, v in raw.items()})


def order_document(order: ChannelOrder) -> dict[str, Any]:
    """``order`` as the ``order`` object of ``order-webhook.v1.json``."""
    document: dict[str, Any] = {
        "external_id": order.external_id,
        "created_at": order.created_at.isoformat(),
        "currency": order.currency,
        "lines": [
            {
                "external_line_id": line.external_line_id,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "discount": str(line.discount),
                "tax": str(line.tax),
            }
            for line in order.lines
        ],
        "customer_email": order.customer_email,
        "customer_name": order.customer_name,
        "is_paid": order.is_paid,
        "cancelled": order.cancelled,
    }
    for name in ("shipping_address", "billing_address"):
        address = getattr(order, name)
        if address is not None:
            document[name] = {k: v for k, v in asdict(address).items() if v is not None}
    if order.pickup_location:
        document["pickup_location"] = order.pickup_location
    return document
