"""The shared OAuth token cache: when it fetches, how often, and what its failures say."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from channelhub.connectors.amazon.auth import LwaTokens
from channelhub.connectors.base import PermanentError, RateLimited, TransientError
from channelhub.connectors.bol.auth import TokenSource
from channelhub.connectors.oauth import OAuthTokens

TOKEN_URL = "https://login.example/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenEndpoint:
    """A token endpoint answering ``answer(request)``; it counts what it is asked."""

    def __init__(self, answer: Callable[[httpx.Request], Awaitable[httpx.Response]]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.answer(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def issuing(lifetime: int | None = 300) -> TokenEndpoint:
    """An endpoint handing out ``token-1``, ``token-2``, ... living ``lifetime`` seconds."""

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let other callers run while this token is "on its way"
        body: dict[str, Any] = {"access_token": f"token-{len(endpoint.requests)}"}
        if lifetime is not None:
            body["expires_in"] = lifetime
        return httpx.Response(200, json=body)

    endpoint = TokenEndpoint(answer)
    return endpoint


def answering(response: httpx.Response) -> TokenEndpoint:
    async def answer(request: httpx.Request) -> httpx.Response:
        return response

    return TokenEndpoint(answer)


class ExampleTokens(OAuthTokens):
    """A client-credentials grant, as a platform's token source would declare it."""

    service = "Example login"
    refresh_margin = 30.0
    default_lifetime = 120.0
    refusal = "Example refused the client id and secret"
    remedy = "check the credentials"

    async def _request_token(self) -> httpx.Response:
        return await self._http.post(self._token_url, data={"grant_type": "client_credentials"})


def tokens_for(endpoint: TokenEndpoint, clock: Clock) -> ExampleTokens:
    return ExampleTokens(endpoint.client(), token_url=TOKEN_URL, clock=clock)


def test_the_token_is_reused_until_the_margin_before_expiry() -> None:
    endpoint, clock = issuing(lifetime=300), Clock()
    tokens = tokens_for(endpoint, clock)

    async def scenario() -> list[str]:
        seen = [await tokens.token()]
        clock.now += 300 - 30 - 0.001  # still fresh: more than the margin left
        seen.append(await tokens.token())
        clock.now += 0.001  # exactly the margin left: fetched again
        seen.append(await tokens.token())
        return seen

    assert asyncio.run(scenario()) == ["token-1", "token-1", "token-2"]
    assert len(endpoint.requests) == 2


def test_the_lifetime_counts_from_when_the_token_was_asked_for() -> None:
    clock = Clock()

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        clock.now += 100  # the answer took 100 s to arrive
        return httpx.Response(200, json={"access_token": "slow", "expires_in": 200})

    endpoint = TokenEndpoint(slow_answer)
    tokens = tokens_for(endpoint, clock)

    async def scenario() -> None:
        await tokens.token()
        clock.now += 200 - 100 - 30  # 200 s after asking, minus the margin
        await tokens.token()

    asyncio.run(scenario())
    assert len(endpoint.requests) == 2


def test_an_answer_without_expires_in_lives_the_documented_lifetime() -> None:
    endpoint, clock = issuing(lifetime=None), Clock()
    tokens = tokens_for(endpoint, clock)

    async def scenario() -> None:
        await tokens.token()
        clock.now += ExampleTokens.default_lifetime - ExampleTokens.refresh_margin - 1
        await tokens.token()
        assert len(endpoint.requests) == 1
        clock.now += 1
        await tokens.token()

    asyncio.run(scenario())
    assert len(endpoint.requests) == 2


def test_concurrent_callers_share_one_fetch() -> None:
    endpoint, clock = issuing(), Clock()
    tokens = tokens_for(endpoint, clock)

    async def scenario() -> list[str]:
        return list(await asyncio.gather(*(tokens.token() for _ in range(8))))

    assert asyncio.run(scenario()) == ["token-1"] * 8
    assert len(endpoint.requests) == 1


def test_invalidate_forgets_only_the_token_it_names() -> None:
    endpoint, clock = issuing(), Clock()
    tokens = tokens_for(endpoint, clock)

    async def scenario() -> list[str]:
        first = await tokens.token()
        tokens.invalidate("some-older-token")  # a caller late with an old token: kept
        kept = await tokens.token()
        tokens.invalidate(first)
        return [first, kept, await tokens.token()]

    assert asyncio.run(scenario()) == ["token-1", "token-1", "token-2"]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, {"error": "invalid_grant", "error_description": "expired"}, "invalid_grant: expired"),
        (401, {"error": "invalid_client"}, "invalid_client"),
        (403, {}, "no details"),
    ],
)
def test_a_refused_grant_is_permanent_and_carries_the_platforms_reason(
    status: int, body: dict[str, str], reason: str
) -> None:
    tokens = tokens_for(answering(httpx.Response(status, json=body)), Clock())
    with pytest.raises(PermanentError) as caught:
        asyncio.run(tokens.token())
    assert caught.value.status == status
    assert str(caught.value) == (
        f"Example refused the client id and secret ({status} {reason}): check the credentials"
    )


def test_a_refusal_that_is_not_json_shows_the_start_of_the_body() -> None:
    tokens = tokens_for(answering(httpx.Response(401, text="Unauthorized")), Clock())
    with pytest.raises(PermanentError, match=r"\(401 Unauthorized\)"):
        asyncio.run(tokens.token())


def test_a_failed_fetch_caches_nothing_and_the_next_call_tries_again() -> None:
    answers = [httpx.Response(503), httpx.Response(200, json={"access_token": "late"})]

    async def answer(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    endpoint = TokenEndpoint(answer)
    tokens = tokens_for(endpoint, Clock())

    async def scenario() -> str:
        with pytest.raises(TransientError, match="could not obtain an access token from Example"):
            await tokens.token()
        return await tokens.token()

    assert asyncio.run(scenario()) == "late"
    assert len(endpoint.requests) == 2


def test_a_throttled_token_request_is_rate_limited() -> None:
    response = httpx.Response(429, headers={"Retry-After": "12"})
    tokens = tokens_for(answering(response), Clock())
    with pytest.raises(RateLimited) as caught:
        asyncio.run(tokens.token())
    assert caught.value.retry_after == 12


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (httpx.ReadTimeout("slow"), "Example login timed out: ReadTimeout('slow')"),
        (httpx.ConnectError("refused"), "Example login unreachable: ConnectError('refused')"),
    ],
)
def test_network_failures_are_transient(failure: httpx.TransportError, words: str) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        raise failure

    tokens = tokens_for(TokenEndpoint(answer), Clock())
    with pytest.raises(TransientError) as caught:
        asyncio.run(tokens.token())
    assert str(caught.value) == words


@pytest.mark.parametrize("body", ["not json", '{"token_type": "bearer"}', '["a list"]'])
def test_an_unreadable_token_is_transient(body: str) -> None:
    tokens = tokens_for(answering(httpx.Response(200, text=body)), Clock())
    with pytest.raises(TransientError, match="Example login answered an unreadable token"):
        asyncio.run(tokens.token())


def test_amazon_sends_the_refresh_token_grant_and_names_lwas_reason() -> None:
    refusal = {"error": "invalid_grant", "error_description": "The refresh token is revoked"}
    endpoint = answering(httpx.Response(400, json=refusal))
    tokens = LwaTokens(
        endpoint.client(),
        token_url=TOKEN_URL,
        client_id="id",
        client_secret="secret",
        refresh_token="Atzr|refresh",
    )
    with pytest.raises(PermanentError) as caught:
        asyncio.run(tokens.token())
    assert str(caught.value).startswith(
        "Login with Amazon refused the refresh token "
        "(400 invalid_grant: The refresh token is revoked): check the LWA client id"
    )
    form = httpx.QueryParams(endpoint.requests[0].content.decode())
    assert dict(form) == {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|refresh",
        "client_id": "id",
        "client_secret": "secret",
    }


def test_bol_sends_client_credentials_with_basic_auth() -> None:
    endpoint, clock = issuing(lifetime=None), Clock()
    tokens = TokenSource(
        endpoint.client(), token_url=TOKEN_URL, client_id="id", client_secret="secret", clock=clock
    )

    async def scenario() -> None:
        await tokens.token()
        clock.now += 299 - 30  # bol.com's documented lifetime, less its margin
        await tokens.token()

    asyncio.run(scenario())
    first = endpoint.requests[0]
    assert first.url.params["grant_type"] == "client_credentials"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"id:secret").decode()
    assert len(endpoint.requests) == 2
