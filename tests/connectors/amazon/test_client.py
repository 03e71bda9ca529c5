"""Tokens, limits and errors: what the connector does with each of Amazon's answers
(a scripted Amazon on httpx.MockTransport, a fake clock)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from channelhub.connectors.amazon import AmazonConnector
from channelhub.connectors.base import (
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)

from .conftest import config_for, listing, run

SUBMITTED = {"sku": "MUG-1", "status": "ACCEPTED", "submissionId": "s-1", "issues": []}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeAmazon:
    """A scripted Amazon: LWA's token endpoint plus a handler for SP-API calls."""

    def __init__(self, api: Callable[[httpx.Request], httpx.Response]) -> None:
        self.api = api
        self.token_forms: list[dict[str, str]] = []
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/o2/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.token_forms.append(form)
            return httpx.Response(
                200,
                json={
                    "access_token": f"Atza|token-{len(self.token_forms)}",
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "refresh_token": form["refresh_token"],
                },
            )
        self.calls.append(request)
        return self.api(request)


def connector(fake: FakeAmazon, clock: FakeClock | None = None) -> AmazonConnector:
    clock = clock or FakeClock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return AmazonConnector(config_for("http://amazon.test"), http, clock=clock, sleep=clock.sleep)


def listed(request: httpx.Request) -> httpx.Response:
    if request.method == "GET":
        return httpx.Response(200, json={"sku": "MUG-1"})
    return httpx.Response(200, json=SUBMITTED, headers={"x-amzn-RateLimit-Limit": "5.0"})


def test_refresh_token_flow_and_token_reuse_until_shortly_before_expiry() -> None:
    fake = FakeAmazon(listed)
    clock = FakeClock()
    amazon = connector(fake, clock)
    run(amazon.push_stock([StockLevel("MUG-1", 3)]))
    run(amazon.push_stock([StockLevel("MUG-1", 4)]))
    assert fake.token_forms == [
        {
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|sandbox-refresh",
            "client_id": "amzn1.application-oa2-client.sandbox",
            "client_secret": "sandbox-secret",
        }
    ]
    assert {call.headers["x-amz-access-token"] for call in fake.calls} == {"Atza|token-1"}
    assert all("authorization" not in call.headers for call in fake.calls)
    clock.now += 3600 - 30  # within the refresh margin: a new token is fetched
    run(amazon.push_stock([StockLevel("MUG-1", 5)]))
    assert fake.calls[-1].headers["x-amz-access-token"] == "Atza|token-2"


def test_expired_token_is_refreshed_and_the_call_repeated_once() -> None:
    answers = iter(
        [
            httpx.Response(
                403,
                json={
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "The access token you provided has expired.",
                        }
                    ]
                },
            ),
            httpx.Response(200, json=SUBMITTED),
        ]
    )
    fake = FakeAmazon(lambda request: next(answers))
    amazon = connector(fake)
    amazon._listed.add("MUG-1")
    run(amazon.push_stock([StockLevel("MUG-1", 3)]))
    assert [c.headers["x-amz-access-token"] for c in fake.calls] == [
        "Atza|token-1",
        "Atza|token-2",
    ]


def test_wrong_credentials_or_role_is_a_permanent_error_that_says_so() -> None:
    denied = httpx.Response(
        403,
        json={
            "errors": [
                {
                    "code": "Unauthorized",
                    "message": "Access to requested resource is denied.",
                    "details": "",
                }
            ]
        },
    )
    amazon = connector(FakeAmazon(lambda request: denied))
    with pytest.raises(PermanentError, match="credentials or role are wrong") as caught:
        run(amazon.push_stock([StockLevel("MUG-1", 3)]))
    assert "Unauthorized: Access to requested resource is denied." in str(caught.value)


def test_refused_refresh_token_is_permanent() -> None:
    def lwa(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "The grant is revoked"}
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(lwa))
    amazon = AmazonConnector(config_for("http://amazon.test"), http)
    with pytest.raises(PermanentError, match="invalid_grant: The grant is revoked"):
        run(amazon.test_connection())


def test_sp_api_error_body_becomes_a_clear_message() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"sku": "MUG-1"})
        body = {
            "errors": [
                {
                    "code": "InvalidInput",
                    "message": "Request has missing or invalid parameters",
                    "details": "productType",
                }
            ]
        }
        return httpx.Response(400, json=body)

    with pytest.raises(PermanentError) as caught:
        run(connector(FakeAmazon(api)).push_stock([StockLevel("MUG-1", 3)]))
    assert "patchListingsItem: InvalidInput: Request has missing or invalid parameters" in str(
        caught.value
    )
    assert "(productType)" in str(caught.value)


def test_server_errors_are_transient() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        body = {"errors": [{"code": "InternalFailure", "message": "We encountered an error"}]}
        return httpx.Response(503, json=body)

    with pytest.raises(TransientError, match="InternalFailure"):
        run(connector(FakeAmazon(api)).push_stock([StockLevel("MUG-1", 3)]))


def test_quota_exceeded_is_rate_limited_with_a_wait_from_the_applied_rate() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        body = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}
        return httpx.Response(429, json=body, headers={"x-amzn-RateLimit-Limit": "0.5"})

    amazon = connector(FakeAmazon(api))
    amazon._listed.add("MUG-1")
    with pytest.raises(RateLimited) as caught:
        run(amazon.push_stock([StockLevel("MUG-1", 3)]))
    assert caught.value.retry_after == pytest.approx(2.0)
    assert "QuotaExceeded" in str(caught.value)


def test_spent_budget_waits_briefly_inline_and_hands_long_waits_back() -> None:
    orders_pages = {"payload": {"Orders": []}}
    fake = FakeAmazon(lambda request: httpx.Response(200, json=orders_pages))
    clock = FakeClock()
    amazon = connector(fake, clock)
    for _ in range(20):  # getOrders: burst 20, then one a minute
        run(amazon.fetch_orders(None))
    with pytest.raises(RateLimited) as caught:
        run(amazon.fetch_orders(None))
    assert len(fake.calls) == 20  # the 21st was not sent
    assert caught.value.retry_after == pytest.approx(1 / 0.0167, rel=0.01)
    # patchListingsItem: 5 a second, burst 5: the sixth waits 0.2 s inline.
    stock = FakeAmazon(listed)
    quick = connector(stock, clock)
    quick._listed.add("MUG-1")
    for n in range(6):
        run(quick.push_stock([StockLevel("MUG-1", n)]))
    assert clock.slept == [pytest.approx(0.2)]


def test_invalid_submission_names_the_sku_and_the_issue() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(
                404, json={"errors": [{"code": "NOT_FOUND", "message": "SKU not found"}]}
            )
        return httpx.Response(
            200,
            json={
                "sku": "MUG-1",
                "status": "INVALID",
                "submissionId": "s-2",
                "issues": [
                    {
                        "code": "90220",
                        "message": "'batteries_required' is required but not supplied.",
                        "severity": "ERROR",
                        "attributeNames": ["batteries_required"],
                    },
                    {"code": "18448", "message": "incomplete", "severity": "WARNING"},
                ],
            },
        )

    with pytest.raises(PermanentError) as caught:
        run(connector(FakeAmazon(api)).push_listings([listing("MUG-1")]))
    text = str(caught.value)
    assert text.startswith("SKU MUG-1: Amazon refused the listing (INVALID)")
    assert "'batteries_required' is required but not supplied. [batteries_required]" in text
    assert "incomplete" not in text  # a warning does not refuse a listing
