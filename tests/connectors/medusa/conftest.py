"""Fixtures: a Medusa sandbox reached in-process (ASGI) and a connector pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest

from channelhub.connectors.medusa import MedusaConfig, MedusaConnector
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.medusa import MedusaState, create_app

T = TypeVar("T")
BASE_URL = "http://medusa.sandbox"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def config_for(state: MedusaState, base_url: str = BASE_URL, **overrides: Any) -> MedusaConfig:
    values: dict[str, Any] = {"url": base_url, "email": state.email, "password": state.password}
    return MedusaConfig.model_validate(values | overrides)


@pytest.fixture
def state() -> MedusaState:
    return MedusaState()


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7)


@pytest.fixture
def app(state: MedusaState, faults: Faults) -> Any:
    return create_app(state, faults)


Connect = Callable[..., Any]


@pytest.fixture
def connect(app: Any, state: MedusaState) -> Connect:
    """``async with connect(**config) as medusa``: a connector on the in-process sandbox."""

    @asynccontextmanager
    async def opened(**overrides: Any) -> AsyncIterator[MedusaConnector]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, timeout=5) as http:
            yield MedusaConnector(config_for(state, **overrides), http)

    return opened
