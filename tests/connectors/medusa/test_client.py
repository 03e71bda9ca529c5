"""Sign-in, token renewal, Medusa's error bodies and rate limits, against the sandbox."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from channelhub.connectors.base import (
    Listing,
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)
from channelhub.connectors.medusa import MedusaConfig, MedusaConnector
from channelhub.connectors.medusa.client import MedusaClient
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.medusa import MedusaState, create_app

from .conftest import Connect, config_for, run


def test_configuration_needs_one_way_to_sign_in(state: MedusaState) -> None:
    with pytest.raises(ValueError, match="api_key, or an admin user's email and password"):
        MedusaConfig(url="http://m", email="a@b.c")
    with pytest.raises(ValueError, match="not both"):
        MedusaConfig.model_validate(
            {"url": "http://m", "api_key": "sk_1", "email": "a@b.c", "password": "p"}
        )
    shown = config_for(state).model_dump(mode="json")
    assert shown["password"] == "**********"


def test_wrong_password_is_a_clear_permanent_error(connect: Connect) -> None:
    async def check() -> None:
        async with connect(password="wrong") as medusa:
            with pytest.raises(PermanentError, match=r"refused the sign-in.*Invalid email"):
                await medusa.test_connection()

    run(check())


def test_an_expired_token_is_renewed_once(connect: Connect, state: MedusaState) -> None:
    async def check() -> None:
        async with connect() as medusa:
            await medusa.test_connection()
            state.tokens.clear()  # every token issued so far expires
            assert "Medusa reached" in await medusa.test_connection()
            assert len(state.tokens) == 1  # signed in again after the 401

    run(check())


def test_a_secret_api_key_is_sent_as_basic_auth(app: object, state: MedusaState) -> None:
    async def check() -> None:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport) as http:
            keyed = MedusaConfig(url="http://medusa.sandbox", api_key=state.secret_key)
            assert "Medusa reached" in await MedusaConnector(keyed, http).test_connection()
            assert not state.tokens
            bad = MedusaConfig(url="http://medusa.sandbox", api_key="sk_wrong")
            with pytest.raises(PermanentError, match="401: unauthorized: Unauthorized"):
                await MedusaConnector(bad, http).test_connection()

    run(check())


def test_medusa_errors_name_the_type_and_message(connect: Connect, state: MedusaState) -> None:
    async def check() -> None:
        async with connect() as medusa:
            with pytest.raises(PermanentError, match=r"404: not_found: Order with id \"order_x\""):
                await medusa.client.request("GET", "/admin/orders/order_x")
            with pytest.raises(PermanentError, match="400: invalid_data: Product options"):
                await medusa.client.request("POST", "/admin/products", json={"title": "T"})
            await medusa.push_listings([Listing("MUG", "Mug")])
            state.products.clear()  # the variant's SKU lingers in no product, its handle is free
            with pytest.raises(TransientError, match="no Medusa variant yet for SKU CUP"):
                await medusa.push_stock([StockLevel("CUP", 1)])

    run(check())


def test_two_stock_locations_need_a_choice(connect: Connect, state: MedusaState) -> None:
    state.stock_locations.append({"id": "sloc_second", "name": "Store"})

    async def check() -> None:
        async with connect() as medusa:
            with pytest.raises(PermanentError, match=r"2 stock locations.*set stock_location_id"):
                await medusa.push_stock([StockLevel("MUG", 1)])
        async with connect(stock_location_id="sloc_second") as medusa:
            await medusa.push_listings([Listing("MUG", "Mug")])
            await medusa.push_stock([StockLevel("MUG", 3)])
        assert state.level("MUG", "sloc_second")["stocked_quantity"] == 3  # type: ignore[index]

    run(check())


def test_a_long_retry_after_goes_back_to_the_engine() -> None:
    limited = MedusaState(rate_limit=0.2)  # one request per 5 s
    app = create_app(limited)

    async def check() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            medusa = MedusaConnector(config_for(limited), http)
            with pytest.raises(RateLimited) as caught:
                await medusa.test_connection()
            assert caught.value.status == 429 and caught.value.retry_after == 5.0
            assert "too_many_requests: Too many requests" in caught.value.message

    run(check())


def test_a_short_retry_after_is_waited_inline() -> None:
    limited = MedusaState(rate_limit=2)
    app = create_app(limited)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    async def check() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            medusa = MedusaConnector(config_for(limited), http)
            medusa.client = MedusaClient(http, medusa.settings, sleep=sleep)
            for _ in range(5):  # 6 calls against a budget of 2 a second
                assert "Medusa reached" in await medusa.test_connection()

    run(check())
    assert limited.throttled == len(waits) > 0 and set(waits) == {1.0}


def test_server_errors_and_outages_are_transient(state: MedusaState) -> None:
    faults = Faults(error_rate=1.0)
    app = create_app(state, faults)

    async def check() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            medusa = MedusaConnector(config_for(state), http)
            with pytest.raises(TransientError, match="500: unknown_error") as caught:
                await medusa.test_connection()
            assert caught.value.retryable
        async with httpx.AsyncClient() as http:  # nothing listens there
            gone = MedusaConnector(config_for(state, base_url="http://127.0.0.1:9"), http)
            with pytest.raises(TransientError, match="could not reach Medusa"):
                await gone.test_connection()

    run(check())
