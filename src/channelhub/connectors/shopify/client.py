"""One GraphQL call to the Shopify Admin API and what its answer means for delivery.

Follows shopify.dev for API version 2026-01: ``POST /admin/api/2026-01/graphql.json`` with
``X-Shopify-Access-Token``; "GraphQL Admin API rate limits": every answer carries
``extensions.cost`` and an exhausted bucket answers HTTP 200 with an error whose
``extensions.code`` is ``THROTTLED``; "Shopify API response status and error codes": 401 bad
token, 402 frozen shop, 403 missing scope, 404 unknown shop, 423 locked shop, 5xx server side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    RateLimited,
    TransientError,
    error_from_response,
)

API_VERSION = "2026-01"

# GraphQL error codes that mean "try again later" rather than "the request is wrong".
_TRANSIENT_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})
# userErrors codes that a later attempt can get past.
TRANSIENT_USER_ERRORS = frozenset(
    {"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE", "IDEMPOTENCY_CONCURRENT_REQUEST"}
)


@dataclass(frozen=True)
class ThrottleStatus:
    """The shop's cost bucket as the last answer reported it."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` points are available again."""
        if self.restore_rate <= 0:
            return 1.0
        return max(0.0, (cost - self.currently_available) / self.restore_rate)


@dataclass(frozen=True)
class QueryCost:
    requested: float
    actual: float | None
    throttle: ThrottleStatus | None


def parse_cost(extensions: Any) -> QueryCost | None:
    """``extensions.cost`` of an answer, or None when absent or malformed."""
    if not isinstance(extensions, Mapping) or not isinstance(extensions.get("cost"), Mapping):
        return None
    cost = extensions["cost"]
    status = cost.get("throttleStatus")
    throttle = None
    if isinstance(status, Mapping):
        try:
            throttle = ThrottleStatus(
                maximum_available=float(status["maximumAvailable"]),
                currently_available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
            )
        except (KeyError, TypeError, ValueError):
            throttle = None
    try:
        requested = float(cost.get("requestedQueryCost") or 0)
        actual_raw = cost.get("actualQueryCost")
        actual = None if actual_raw is None else float(actual_raw)
    except (TypeError, ValueError):
        return None
    return QueryCost(requested=requested, actual=actual, throttle=throttle)


class ShopifyGraphQL:
    """Sends documents to one shop and turns every failure into a ``DeliveryError``."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str, access_token: str) -> None:
        self.http = http
        self.endpoint = endpoint
        self._access_token = access_token
        self.last_cost: QueryCost | None = None

    async def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> Any:
        """The ``data`` of a successful answer; raises DeliveryError otherwise."""
        try:
            response = await self.http.post(
                self.endpoint,
                json={"query": document, "variables": dict(variables or {})},
                headers={
                    "X-Shopify-Access-Token": self._access_token,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"Shopify did not answer in time: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"could not reach Shopify: {error!r}") from error
        if response.status_code != 200:
            raise error_from_response(response, _http_detail(response))
        try:
            body = response.json()
        except ValueError as error:
            raise TransientError(
                f"Shopify answered 200 with a body that is not JSON: {response.text[:200]!r}",
                status=200,
            ) from error
        if not isinstance(body, Mapping):
            raise TransientError("Shopify answered 200 with an unexpected body", status=200)
        self.last_cost = parse_cost(body.get("extensions")) or self.last_cost
        errors = body.get("errors")
        if errors:
            raise graphql_error(errors, self.last_cost)
        return body.get("data")


def _http_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    errors = body.get("errors") if isinstance(body, Mapping) else None
    detail = str(errors if errors is not None else body)[:300]
    hints = {
        401: "the access token is invalid or was revoked",
        402: "the shop is frozen (unpaid)",
        403: "the app lacks an access scope this call needs",
        404: "no such shop or API version",
        423: "the shop is locked",
    }
    hint = hints.get(response.status_code)
    return f"{hint} ({detail})" if hint else detail


def graphql_error(errors: Any, cost: QueryCost | None) -> DeliveryError:
    """The DeliveryError for a top-level ``errors`` list of an HTTP 200 answer."""
    items: Sequence[Any] = errors if isinstance(errors, list) else [{"message": str(errors)}]
    codes = {
        str(item.get("extensions", {}).get("code"))
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("extensions"), Mapping)
    }
    messages = "; ".join(
        str(item.get("message")) if isinstance(item, Mapping) else str(item) for item in items
    )
    if "THROTTLED" in codes:
        retry_after = 1.0
        if cost is not None and cost.throttle is not None:
            retry_after = max(cost.throttle.wait_for(cost.requested), 0.1)
        return RateLimited(f"Shopify throttled the call: {messages}", retry_after=retry_after)
    if codes & _TRANSIENT_CODES:
        return TransientError(f"Shopify GraphQL error: {messages}")
    return PermanentError(f"Shopify refused the GraphQL document: {messages}")


def user_errors_message(operation: str, errors: Sequence[Mapping[str, Any]]) -> str:
    """A readable sentence from a payload's ``userErrors``."""
    parts = []
    for error in errors:
        field = ".".join(str(f) for f in error.get("field") or [])
        code = error.get("code")
        label = f"{field}: " if field else ""
        suffix = f" [{code}]" if code else ""
        parts.append(f"{label}{error.get('message')}{suffix}")
    return f"Shopify {operation} refused: " + "; ".join(parts)


def raise_for_user_errors(operation: str, payload: Any) -> None:
    """Raise the DeliveryError for a mutation payload's ``userErrors``, if any."""
    if not isinstance(payload, Mapping):
        raise PermanentError(f"Shopify {operation} returned no payload")
    errors = payload.get("userErrors") or []
    if not errors:
        return
    message = user_errors_message(operation, errors)
    if all(error.get("code") in TRANSIENT_USER_ERRORS for error in errors):
        raise TransientError(message)
    raise PermanentError(message)
