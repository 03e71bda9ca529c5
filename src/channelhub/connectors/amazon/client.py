"""HTTP plumbing for the Selling Partner API: the LWA token header, per-operation rate
limits, and SP-API errors turned into DeliveryErrors that say what went wrong.

Rate limits (developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits) are token
buckets per operation and selling partner: the default rate and burst of each operation are in
its model's description (copied below); the ``x-amzn-RateLimit-Limit`` response header carries
the rate actually applied. Over budget, SP-API answers 429 with
``{"errors": [{"code": "QuotaExceeded", ...}]}`` and no ``Retry-After``. We keep a bucket per
operation on our side and do not send a request that is sure to be refused: a short wait is
taken inline, a long one is handed back to the engine as ``RateLimited``.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from channelhub.connectors.amazon.auth import LwaTokens
from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    RateLimit,
    RateLimited,
    TransientError,
    error_from_response,
)

#: Default usage plans (rate per second, burst) from the operations' descriptions in
#: listingsItems_2021-08-01, feeds_2021-06-30 and ordersV0.
USAGE_PLANS: dict[str, RateLimit] = {
    "getListingsItem": RateLimit(5, 10),
    "putListingsItem": RateLimit(5, 10),
    "patchListingsItem": RateLimit(5, 5),
    "createFeedDocument": RateLimit(0.5, 15),
    "createFeed": RateLimit(0.0083, 15),
    "getFeed": RateLimit(2, 15),
    "getFeeds": RateLimit(0.0222, 10),
    "getFeedDocument": RateLimit(0.0222, 10),
    "getOrders": RateLimit(0.0167, 20),
    "getOrderItems": RateLimit(0.5, 30),
    "confirmShipment": RateLimit(2, 10),
}
# Wait this long at most for a budget to refill before handing the wait back to the engine.
MAX_INLINE_WAIT_SECONDS = 2.5


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until one request may go (0 when one may go now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class SpApiClient:
    """Sends one SP-API request with a valid access token, honouring each operation's plan."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: LwaTokens,
        *,
        base_url: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    def bucket(self, operation: str) -> _Bucket:
        if operation not in self._buckets:
            plan = USAGE_PLANS.get(operation, RateLimit(1, 5))
            self._buckets[operation] = _Bucket(
                plan.rate, float(plan.burst), float(plan.burst), self._clock()
            )
        return self._buckets[operation]

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """The 2xx response of ``operation``, or a DeliveryError saying what went wrong."""
        await self._take(operation)
        response = await self._send(method, path, params=params, json=json)
        if response.status_code in (401, 403) and _token_expired(response):
            # An expired access token: fetch a new one and try exactly once more.
            response = await self._send(method, path, params=params, json=json)
        self._observe(operation, response)
        if response.is_success:
            return response
        raise self._error(operation, response)

    async def upload(self, url: str, content: bytes, content_type: str) -> None:
        """PUT a feed document to the pre-signed URL createFeedDocument returned (no token:
        the URL carries its own signature)."""
        try:
            response = await self._http.put(
                url, content=content, headers={"Content-Type": content_type}
            )
        except httpx.TransportError as error:
            raise TransientError(f"the feed document upload failed: {error!r}") from error
        if not response.is_success:
            raise error_from_response(response, f"feed document upload refused: {response.text}")

    async def download(self, url: str) -> bytes:
        """GET a document (a processing report) from its pre-signed URL."""
        try:
            response = await self._http.get(url)
        except httpx.TransportError as error:
            raise TransientError(f"the report download failed: {error!r}") from error
        if not response.is_success:
            raise error_from_response(response, f"report download refused: {response.text}")
        return response.content

    async def _take(self, operation: str) -> None:
        bucket = self.bucket(operation)
        bucket.refill(self._clock())
        wait = bucket.wait()
        if wait > MAX_INLINE_WAIT_SECONDS:
            raise RateLimited(
                f"{operation}: Amazon's budget for this operation is spent "
                f"({bucket.rate:g} requests/s, burst {bucket.burst:g}); next in {wait:.1f}s",
                retry_after=wait,
            )
        if wait > 0:
            await self._sleep(wait)
            bucket.refill(self._clock())
        bucket.tokens -= 1

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        token = await self._tokens.token()
        headers = {"x-amz-access-token": token, "Accept": "application/json"}
        content = None
        if json is not None:
            headers["Content-Type"] = "application/json"
            content = jsonlib.dumps(json, separators=(",", ":")).encode()
        try:
            response = await self._http.request(
                method, self._base_url + path, params=params, headers=headers, content=content
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {path} timed out at Amazon: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"{method} {path} could not reach Amazon: {error!r}") from error
        if response.status_code in (401, 403) and _token_expired(response):
            self._tokens.invalidate(token)
        return response

    def _observe(self, operation: str, response: httpx.Response) -> None:
        """Adopt the rate Amazon applied (``x-amzn-RateLimit-Limit``); a 429 empties the bucket."""
        bucket = self.bucket(operation)
        applied = _float_header(response, "x-amzn-RateLimit-Limit")
        if applied is not None and applied > 0:
            bucket.rate = applied
        if response.status_code == 429:
            bucket.tokens = min(bucket.tokens, 0.0)

    def _error(self, operation: str, response: httpx.Response) -> DeliveryError:
        detail = describe_errors(_json_or_none(response), response.text)
        status = response.status_code
        if status in (401, 403):
            return PermanentError(
                f"{operation}: Amazon refused the call ({status}: {detail}). The credentials "
                "or role are wrong: check the LWA client id/secret and refresh token, that the "
                "app has the role this operation needs (Product Listing for listings and feeds, "
                "Inventory and Order Tracking for orders) and that seller_id is the authorizing "
                "seller's",
                status=status,
            )
        error = error_from_response(response, f"{operation}: {detail}")
        if isinstance(error, RateLimited) and error.retry_after is None:
            bucket = self.bucket(operation)
            error.retry_after = 1.0 / bucket.rate if bucket.rate > 0 else 60.0
        return error


def describe_errors(body: Any, fallback: str) -> str:
    """One readable line from SP-API's ``{"errors": [{"code", "message", "details"}]}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return fallback.strip()[:300] or "no details"
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        text = f"{error.get('code', 'Error')}: {error.get('message', '')}".strip()
        if error.get("details"):
            text += f" ({error['details']})"
        parts.append(text)
    return "; ".join(parts) or "no details"


def _token_expired(response: httpx.Response) -> bool:
    return "expired" in response.text.lower()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _float_header(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
