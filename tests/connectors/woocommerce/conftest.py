"""Fixtures for the WooCommerce connector: a sandbox reached in-process (ASGI) and a
connector pointed at it; the engine's fixtures for the round trips."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from channelhub.connectors.woocommerce import WooCommerceConfig, WooCommerceConnector
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.woocommerce import WooState, create_app
from tests.sync.conftest import secret_key, world  # the engine's fixtures, for round trips

__all__ = ["secret_key", "world"]

T = TypeVar("T")
BASE = "http://127.0.0.1:8080"


def config_for(state: WooState, store_url: str = BASE, **overrides: Any) -> WooCommerceConfig:
    values: dict[str, Any] = {
        "store_url": store_url,
        "consumer_key": state.consumer_key,
        "consumer_secret": state.consumer_secret,
        "webhook_secret": state.webhook_secret,
    }
    return WooCommerceConfig.model_validate(values | overrides)


@pytest.fixture
def state() -> WooState:
    return WooState()


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7, timeout_seconds=0.5)


@pytest.fixture
def woo(state: WooState, faults: Faults) -> Callable[..., Any]:
    """``woo(use, **config)`` runs ``use(connector)`` against the sandbox in-process."""
    app = create_app(state, faults)

    def call(use: Callable[[WooCommerceConnector], Awaitable[T]], **overrides: Any) -> T:
        async def main() -> T:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                return await use(WooCommerceConnector(config_for(state, **overrides), http))

        return asyncio.run(main())

    return call
