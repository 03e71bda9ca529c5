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
quantity, unit_price) and optionally customer_email, customer_name and cancelled.
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
import orjson
from pydantic import Field, SecretStr

from channelhub.connectors.base import (
    Accepted,
    Capability,
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

SIGNATURE_HEADER = "X-Channelhub-Signature"


class WebhookConfig(ConnectorConfig):
    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: SecretStr = Field(min_length=8)
    previous_secrets: tuple[SecretStr, ...] = Field(default=(), max_length=3)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        document = orjson.loads(body)
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise ValueError("a message is a JSON object with an id")
        raw = document.get("order")
        order = _order(raw) if isinstance(raw, dict) else None
        return WebhookMessage(
            event_id=document["id"],
            topic=str(document.get("topic", "unknown")),
            entity=order.external_id if order else None,
            order=order,
        )


def _order(raw: dict[str, Any]) -> ChannelOrder:
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
            )
            for line in raw.get("lines", [])
        ),
        customer_email=raw.get("customer_email"),
        customer_name=raw.get("customer_name"),
        cancelled=bool(raw.get("cancelled", False)),
    )
