"""Fixtures for the Magento connector: a sandbox reached in-process (ASGI) and a connector
pointed at it; the engine's fixtures for the round trips."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from channelhub.connectors.magento import MagentoConfig, MagentoConnector
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.magento import MagentoState, create_app
from tests.sync.conftest import secret_key, world

__all__ = ["secret_key", "world"]
T = TypeVar("T")
BASE = "http://127.0.0.1:8080"


def config_for(state: MagentoState, base_url: str = BASE, **overrides: Any) -> MagentoConfig:
    values: dict[str, Any] = {"base_url": base_url, "access_token": state.access_token}
    return MagentoConfig.model_validate(values | overrides)


@pytest.fixture
def state() -> MagentoState:
    return MagentoState()


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7, timeout_seconds=0.5)


@pytest.fixture
def magento(state: MagentoState, faults: Faults) -> Callable[..., Any]:
    """``magento(use, **config)`` runs ``use(connector)`` against the sandbox in-process."""
    app = create_app(state, faults)

    def call(use: Callable[[MagentoConnector], Awaitable[T]], **overrides: Any) -> T:
        async def main() -> T:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                return await use(MagentoConnector(config_for(state, **overrides), http))

        return asyncio.run(main())

    return call
