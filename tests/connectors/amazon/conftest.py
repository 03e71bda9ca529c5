"""Fixtures: an Amazon SP-API sandbox reached in-process (ASGI) and a connector pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from channelhub.connectors.amazon import AmazonConfig, AmazonConnector
from channelhub.connectors.base import ChannelPrice, Listing
from channelhub.sandbox.amazon import AmazonState, create_app
from channelhub.sandbox.faults import Faults

T = TypeVar("T")
BASE = "http://amazon.sandbox"
SELLER = "A2SANDBOXSELLER"
MARKETPLACE = "A1PA6795UKMFR9"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def config_for(base_url: str, **overrides: Any) -> AmazonConfig:
    values: dict[str, Any] = {
        "seller_id": SELLER,
        "marketplace_id": MARKETPLACE,
        "client_id": "amzn1.application-oa2-client.sandbox",
        "client_secret": SecretStr("sandbox-secret"),
        "refresh_token": SecretStr("Atzr|sandbox-refresh"),
        "endpoint": base_url,
        "token_url": f"{base_url}/auth/o2/token",
        "language_tag": "de_DE",
    }
    return AmazonConfig(**(values | overrides))


def listing(sku: str, gtin: str = "4006381333931", **overrides: Any) -> Listing:
    values: dict[str, Any] = {
        "sku": sku,
        "title": f"Mug {sku}",
        "description": "A sturdy stoneware mug.",
        "brand": "Acme",
        "gtin": gtin,
        "images": ("https://img.example/mug.jpg", "https://img.example/mug-2.jpg"),
        "attributes": {"bullet_points": "Dishwasher safe\n- 300 ml"},
        "price": ChannelPrice(sku, Decimal("12.95"), "EUR"),
    }
    return Listing(**(values | overrides))


@pytest.fixture
def state() -> AmazonState:
    return AmazonState(feed_delay=0.0)


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7)


@pytest.fixture
def app(state: AmazonState, faults: Faults) -> Any:
    return create_app(state, faults)


def in_process(app: Any, **overrides: Any) -> tuple[AmazonConnector, httpx.AsyncClient]:
    """A connector talking to ``app`` without a socket (fast, deterministic)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=5)
    return AmazonConnector(config_for(BASE, **overrides), http), http
