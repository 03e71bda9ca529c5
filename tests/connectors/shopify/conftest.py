"""Fixtures for the Shopify connector: the official schema, a sandbox over real HTTP, and a
connector pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from graphql import GraphQLSchema

from channelhub.connectors.shopify import ShopifyConfig, ShopifyConnector
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.shopify import ShopifyState, create_app, load_schema

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    async def _main() -> T:
        return await coroutine

    return asyncio.run(_main())


def with_connector(
    base_url: str, state: ShopifyState, **overrides: Any
) -> Callable[[Callable[[ShopifyConnector], Awaitable[T]]], T]:
    """Run ``use(connector)`` with a fresh HTTP client, as the engine would."""

    def call(use: Callable[[ShopifyConnector], Awaitable[T]]) -> T:
        async def _main() -> T:
            async with httpx.AsyncClient(timeout=5) as http:
                config = ShopifyConfig(
                    shop=state.shop,
                    access_token=state.access_token,
                    client_secret=state.client_secret,
                    endpoint=base_url,
                    **overrides,
                )
                return await use(ShopifyConnector(config, http))

        return asyncio.run(_main())

    return call


@pytest.fixture(scope="session")
def schema() -> GraphQLSchema:
    return load_schema()


@pytest.fixture
def state() -> ShopifyState:
    return ShopifyState()


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7, timeout_seconds=0.5)


@pytest.fixture
def sandbox_url(state: ShopifyState, faults: Faults, schema: GraphQLSchema) -> Iterator[str]:
    with serve_in_thread(create_app(state, faults)) as url:
        yield url
