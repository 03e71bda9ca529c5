"""Fixtures: a Square sandbox reached in-process (ASGI) and a connector pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from channelhub.connectors.square import SquareConfig, SquareConnector
from channelhub.sandbox.square import SquareState, create_app

T = TypeVar("T")
BASE = "http://square.sandbox"
HOOK = "https://hub.example.com/api/v1/webhooks/square"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def config_for(state: SquareState, base_url: str = BASE, **overrides: Any) -> SquareConfig:
    values: dict[str, Any] = {
        "access_token": SecretStr(state.access_token),
        "locations": {"ams": next(iter(state.locations))},
        "api_url": base_url,
        "webhook_url": HOOK,
        "webhook_signature_key": SecretStr(state.signature_key),
    }
    return SquareConfig(**(values | overrides))


@pytest.fixture
def state() -> SquareState:
    return SquareState()


def in_process(state: SquareState, **overrides: Any) -> SquareConnector:
    """A connector talking to a sandbox over ``state`` without a socket."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), timeout=5)
    return SquareConnector(config_for(state, **overrides), http)


@pytest.fixture
def square(state: SquareState) -> SquareConnector:
    return in_process(state)
