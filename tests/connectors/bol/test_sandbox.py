"""The sandbox's own contract behaviour: negotiation, tokens, limits and error bodies."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from channelhub.sandbox.bol import BolState, Limit, create_app

from .conftest import run

V10 = "application/vnd.retailer.v10+json"
V11 = "application/vnd.retailer.v11+json"


async def _call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bol.sandbox"
    ) as http:
        basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
        token = await http.post(
            "/token?grant_type=client_credentials", headers={"Authorization": f"Basic {basic}"}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        headers |= kwargs.pop("headers", {})
        return await http.request(method, path, headers=headers, **kwargs)


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return run(_call(app, method, path, **kwargs))


def test_token_endpoint_follows_client_credentials() -> None:
    async def scenario() -> None:
        app = create_app()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://x"
        ) as http:
            good = await http.post(
                "/token",
                params={"grant_type": "client_credentials"},
                auth=("sandbox-client", "sandbox-secret"),
            )
            bad = await http.post(
                "/token", params={"grant_type": "client_credentials"}, auth=("x", "y")
            )
        assert good.json()["expires_in"] == 299 and good.json()["token_type"] == "Bearer"
        assert bad.status_code == 401

    run(scenario())


def test_wrong_media_types_get_406_and_415() -> None:
    app = create_app()
    wrong_accept = call(app, "GET", "/retailer/offers", headers={"Accept": V10})
    assert wrong_accept.status_code == 406
    assert wrong_accept.json()["type"] == "https://api.bol.com/problems"
    wrong_type = call(
        app,
        "PUT",
        "/retailer/orders/cancellation",
        headers={"Accept": V10, "Content-Type": "application/json"},
        content=b"{}",
    )
    assert wrong_type.status_code == 415


def test_missing_token_is_401_problem() -> None:
    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app()), base_url="http://x"
        ) as http:
            return await http.get("/retailer/orders", headers={"Accept": V10})

    response = run(scenario())
    assert response.status_code == 401
    assert set(response.json()) >= {"type", "title", "status", "detail", "violations"}


def test_invalid_offer_lists_violations() -> None:
    body = {
        "ean": "123",
        "condition": {"category": "NEW"},
        "pricing": {"bundlePrices": [{"quantity": 1, "unitPrice": 0.5}]},
        "fulfilment": {"method": "FBR"},
        "stock": {"amount": 1000, "managedByRetailer": True},
    }
    response = call(
        create_app(),
        "POST",
        "/retailer/offers",
        headers={"Accept": V11, "Content-Type": V11},
        json=body,
    )
    assert response.status_code == 400
    names = {violation["name"] for violation in response.json()["violations"]}
    assert names == {"ean", "pricing.bundlePrices[0].unitPrice", "stock.amount"}


def test_order_list_budget_and_headers() -> None:
    state = BolState()
    state.limits["GET /retailer/orders"] = Limit(capacity=2, window=60)
    app = create_app(state)

    async def scenario() -> list[httpx.Response]:
        return [
            await _call(app, "GET", "/retailer/orders", headers={"Accept": V10}) for _ in range(3)
        ]

    first, second, third = run(scenario())
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert second.headers["x-ratelimit-remaining"] == "0"
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) >= 29
    assert third.json()["status"] == 429
