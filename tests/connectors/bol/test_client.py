"""Tokens, limits and errors: what the connector does with each of bol.com's answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from channelhub.connectors.base import (
    ChannelPrice,
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)
from channelhub.connectors.bol import BolConnector

from .conftest import config_for, run

OFFER = {
    "offerId": "6ff736b5-cdd0-4150-8c67-78269ee986f5",
    "ean": "8712345678906",
    "reference": "SKU-1",
    "lastModifiedDateTime": "2025-01-01T00:00:00Z",
    "onHoldByRetailer": False,
    "condition": {"category": "NEW"},
    "stock": {"amount": 5, "managedByRetailer": True},
    "pricing": {"bundlePrices": [{"quantity": 1, "unitPrice": 9.99}]},
    "fulfilment": {"method": "FBR"},
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeBol:
    """A scripted bol.com: the token endpoint plus a handler for API calls."""

    def __init__(self, api: Callable[[httpx.Request], httpx.Response]) -> None:
        self.api = api
        self.tokens_issued = 0
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"token-{self.tokens_issued}",
                    "token_type": "Bearer",
                    "expires_in": 299,
                    "scope": "RETAILER",
                },
            )
        self.calls.append(request)
        return self.api(request)


def connector(fake: FakeBol, clock: FakeClock | None = None) -> BolConnector:
    clock = clock or FakeClock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return BolConnector(config_for("http://bol.test"), http, clock=clock, sleep=clock.sleep)


def offers_page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"offers": [OFFER], "page": {"nextCursor": None}})


def problem(status: int, violations: list[dict[str, str]] | None = None, **headers: str) -> Any:
    body = {
        "type": "https://api.bol.com/problems",
        "title": "Error validating request",
        "status": status,
        "detail": "Bad request",
        "host": "Instance-001",
        "instance": "https://api.bol.com/retailer/offers",
        "violations": violations or [],
    }
    return httpx.Response(status, json=body, headers=headers)


def test_token_is_sent_as_bearer_with_vendor_media_types() -> None:
    fake = FakeBol(offers_page)
    run(connector(fake).read_stock(["SKU-1"]))
    request = fake.calls[0]
    assert request.headers["Authorization"] == "Bearer token-1"
    assert request.headers["Accept"] == "application/vnd.retailer.v11+json"
    assert request.url.params["reference"] == "SKU-1"


def test_token_is_refreshed_ahead_of_expiry() -> None:
    fake, clock = FakeBol(offers_page), FakeClock()
    bol = connector(fake, clock)
    run(bol.read_stock(["SKU-1"]))
    clock.now += 250  # 49 s left of 299: still usable
    run(bol.read_stock(["SKU-1"]))
    assert fake.tokens_issued == 1
    clock.now += 25  # 24 s left: inside the 30 s margin, refreshed before use
    run(bol.read_stock(["SKU-1"]))
    assert fake.tokens_issued == 2
    assert fake.calls[-1].headers["Authorization"] == "Bearer token-2"


def test_a_401_fetches_a_new_token_and_retries_once() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer token-1":
            return problem(401)
        return offers_page(request)

    fake = FakeBol(api)
    assert run(connector(fake).read_stock(["SKU-1"])) == {"SKU-1": 5}
    assert fake.tokens_issued == 2


def test_a_second_401_is_permanent() -> None:
    fake = FakeBol(lambda request: problem(401))
    with pytest.raises(PermanentError, match="refused a fresh access token"):
        run(connector(fake).read_stock(["SKU-1"]))


def test_bad_credentials_are_permanent() -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(transport))
    bol = BolConnector(config_for("http://bol.test"), http)
    with pytest.raises(PermanentError, match="refused the client id and secret"):
        run(bol.test_connection())


def test_violations_become_a_permanent_error_naming_them() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            violation = {"name": "pricing.bundlePrices[0].unitPrice", "reason": "Max 9999."}
            return problem(400, [violation])
        return offers_page(request)

    with pytest.raises(PermanentError) as caught:
        run(connector(FakeBol(api)).push_prices([ChannelPrice("SKU-1", Decimal(12), "EUR")]))
    assert "pricing.bundlePrices[0].unitPrice: Max 9999." in str(caught.value)
    assert caught.value.status == 400


def test_429_is_rate_limited_with_retry_after() -> None:
    fake = FakeBol(lambda request: problem(429, **{"Retry-After": "7"}))
    with pytest.raises(RateLimited) as caught:
        run(connector(fake).read_stock(["SKU-1"]))
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status: int) -> None:
    with pytest.raises(TransientError) as caught:
        run(connector(FakeBol(lambda request: problem(status))).read_stock(["SKU-1"]))
    assert not isinstance(caught.value, PermanentError)


def test_timeouts_are_transient() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError, match="timed out"):
        run(connector(FakeBol(api)).read_stock(["SKU-1"]))


def test_spent_budget_is_honoured_before_sending() -> None:
    """x-ratelimit-remaining 0: a short reset is waited out, a long one handed back."""

    def api(request: httpx.Request) -> httpx.Response:
        response = offers_page(request)
        response.headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset[0]})
        return response

    reset = ["1"]
    fake, clock = FakeBol(api), FakeClock()
    bol = connector(fake, clock)
    run(bol.read_stock(["SKU-1"]))
    run(bol.read_stock(["SKU-1"]))
    assert clock.slept == [1.0] and len(fake.calls) == 2
    reset[0] = "40"
    run(bol.read_stock(["SKU-1"]))  # waits 1 s again, then learns of a 40 s reset
    with pytest.raises(RateLimited) as caught:
        run(bol.read_stock(["SKU-1"]))
    assert caught.value.retry_after == pytest.approx(40)
    assert len(fake.calls) == 3  # the refused call never left


def test_only_changed_values_are_patched() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            return httpx.Response(204)
        return offers_page(request)

    fake = FakeBol(api)
    bol = connector(fake)
    run(bol.push_stock([StockLevel("SKU-1", 5)]))  # bol.com already has 5
    run(bol.push_stock([StockLevel("SKU-1", 2000)]))
    run(bol.push_stock([StockLevel("SKU-1", 1500)]))  # still 999 after clamping
    patches = [json.loads(call.content) for call in fake.calls if call.method == "PATCH"]
    assert patches == [{"stock": {"amount": 999, "managedByRetailer": True}}]
    assert fake.calls[-1].headers["Content-Type"] == "application/vnd.retailer.v11+json"


def test_stock_for_an_unknown_offer_waits_for_the_listing() -> None:
    fake = FakeBol(lambda request: httpx.Response(200, json={"offers": [], "page": {}}))
    with pytest.raises(TransientError, match=r"no bol\.com offer yet for SKU SKU-9"):
        run(connector(fake).push_stock([StockLevel("SKU-9", 3)]))


def test_prices_outside_bols_range_are_refused_locally() -> None:
    fake = FakeBol(offers_page)
    with pytest.raises(PermanentError, match="1 to 9999"):
        run(connector(fake).push_prices([ChannelPrice("SKU-1", Decimal("0.50"), "EUR")]))
    with pytest.raises(PermanentError, match="EUR only"):
        run(connector(fake).push_prices([ChannelPrice("SKU-1", Decimal(5), "USD")]))
    assert fake.calls == []
