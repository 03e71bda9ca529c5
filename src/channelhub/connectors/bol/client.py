"""HTTP plumbing for the bol.com Retailer API: media types, bearer tokens, limits, errors.

Versions followed: the Offers API v11 (11.3.0, ``application/vnd.retailer.v11+json``) for
``/retailer/offers*``, and the Retailer and Shared APIs v10 (``application/vnd.retailer.v10+json``)
for orders, shipments, cancellations and process statuses.

Rate limits (api.bol.com/retailer/public/Retailer-API/ratelimits.html) are per endpoint and
announced on every response in ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (seconds until the budget refills); a request over budget gets 429 with
``Retry-After``. We remember the last headers per endpoint and do not send a request that is
sure to be refused.

Errors are problem JSON (``type, title, status, detail, host, instance, violations[{name,
reason}]``); the message we raise names every violation.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    RateLimited,
    TransientError,
    error_from_response,
)
from channelhub.connectors.bol.auth import TokenSource
from channelhub.connectors.bol.mapping import describe_problem

MEDIA_TYPES = {
    "v10": "application/vnd.retailer.v10+json",
    "v11": "application/vnd.retailer.v11+json",
}
ApiVersion = Literal["v10", "v11"]

# Wait this long at most for a budget to refill before handing the wait back to the engine.
MAX_INLINE_WAIT_SECONDS = 1.0

_ID_SEGMENT = re.compile(r"/(?=[^/]*\d)[^/]+")  # offer ids, order ids, process-status ids


@dataclass
class _Budget:
    remaining: int
    resets_at: float


def endpoint_key(method: str, path: str) -> str:
    """The rate-limit bucket of a request: method and path with its ids folded away."""
    return f"{method.upper()} {_ID_SEGMENT.sub('/{id}', path)}"


class BolClient:
    """Sends one Retailer API request with a valid token, honouring bol.com's limits."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenSource,
        *,
        api_url: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._api_url = api_url.rstrip("/")
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, _Budget] = {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        version: ApiVersion,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """The 2xx response of ``method path``, or a DeliveryError saying what went wrong."""
        key = endpoint_key(method, path)
        await self._respect_budget(key)
        response = await self._send(method, path, version=version, json=json, params=params)
        if response.status_code == 401:
            # An expired or revoked token: fetch a new one and try exactly once more.
            response = await self._send(method, path, version=version, json=json, params=params)
            if response.status_code == 401:
                raise PermanentError(
                    f"bol.com refused a fresh access token for {method} {path}: "
                    "the API credentials lack access to this endpoint",
                    status=401,
                )
        self._remember_budget(key, response)
        if response.is_success:
            return response
        raise self._error(response)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        version: ApiVersion,
        json: Any,
        params: Mapping[str, Any] | None,
    ) -> httpx.Response:
        token = await self._tokens.token()
        media_type = MEDIA_TYPES[version]
        headers = {"Accept": media_type, "Authorization": f"Bearer {token}"}
        if json is not None:
            headers["Content-Type"] = media_type
        content = None if json is None else _dump(json)
        try:
            response = await self._http.request(
                method, self._api_url + path, params=params, headers=headers, content=content
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {path} timed out at bol.com: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"{method} {path} could not reach bol.com: {error!r}") from error
        if response.status_code == 401:
            self._tokens.invalidate(token)
        return response

    async def _respect_budget(self, key: str) -> None:
        budget = self._budgets.get(key)
        if budget is None or budget.remaining > 0:
            return
        wait = budget.resets_at - self._clock()
        if wait <= 0:
            return
        if wait <= MAX_INLINE_WAIT_SECONDS:
            await self._sleep(wait)
            return
        raise RateLimited(
            f"{key}: bol.com's budget for this endpoint is spent until it refills",
            retry_after=wait,
        )

    def _remember_budget(self, key: str, response: httpx.Response) -> None:
        remaining = _int_header(response, "x-ratelimit-remaining")
        reset = _int_header(response, "x-ratelimit-reset")
        if remaining is None:
            return
        self._budgets[key] = _Budget(remaining, self._clock() + float(reset or 0))

    def _error(self, response: httpx.Response) -> DeliveryError:
        detail = describe_problem(_json_or_none(response), response.text)
        error = error_from_response(response, detail)
        if isinstance(error, RateLimited) and error.retry_after is None:
            error.retry_after = _int_header(response, "x-ratelimit-reset")
        return error


def _dump(body: Any) -> bytes:
    return jsonlib.dumps(body, separators=(",", ":")).encode()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
