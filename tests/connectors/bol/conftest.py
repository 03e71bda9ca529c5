"""Fixtures: a bol.com sandbox reached in-process (ASGI) and a connector pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from channelhub.connectors.bol import BolConfig, BolConnector
from channelhub.sandbox.bol import BolState, create_app
from channelhub.sandbox.faults import Faults

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def config_for(base_url: str, **overrides: Any) -> BolConfig:
    values: dict[str, Any] = {
        "client_id": "sandbox-client",
        "client_secret": SecretStr("sandbox-secret"),
        "api_url": base_url,
        "login_url": base_url,
        "economic_operator_id": "0c6573a2-a80c-48b7-a03e-d5939f1173fa",
    }
    return BolConfig(**(values | overrides))


@pytest.fixture
def state() -> BolState:
    return BolState(process_delay=0.05)


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7)


@pytest.fixture
def app(state: BolState, faults: Faults) -> Any:
    return create_app(state, faults)


def in_process(app: Any, **overrides: Any) -> tuple[BolConnector, httpx.AsyncClient]:
    """A connector talking to ``app`` without a socket (fast, deterministic)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=5)
    return BolConnector(config_for("http://bol.sandbox", **overrides), http), http
