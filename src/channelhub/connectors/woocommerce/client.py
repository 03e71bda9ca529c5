"""HTTP calls to the WooCommerce REST API v3 and what their failures mean for delivery.

WooCommerce answers errors as ``{"code": "...", "message": "...", "data": {"status": N}}``
(the WordPress REST API's ``WP_Error`` shape); a batch answers 200 and reports per item errors
as ``{"id": 0, "error": {"code", "message", "data": {"status"}}}``. WooCommerce itself has no
request limit: the web host or a security plugin answers 429 or 503, often with Retry-After.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    TransientError,
    error_from_response,
)

API_VERSION = "wc/v3"
API_PREFIX = "/wp-json/wc/v3"

_HINTS = {
    401: "the consumer key or secret is wrong, or the server strips the Authorization header",
    403: "the API key lacks read/write permission",
    404: "no such resource (or the WooCommerce REST API is not enabled at this URL)",
}


def error_detail(body: Any) -> str:
    """A readable sentence from a WooCommerce error body (``code``, ``message``, ``data``)."""
    if not isinstance(body, Mapping):
        return str(body)[:300]
    code = body.get("code")
    message = body.get("message")
    if not code and not message:
        return str(body)[:300]
    text = f"{message or 'error'}" + (f" [{code}]" if code else "")
    data = body.get("data")
    params = data.get("params") if isinstance(data, Mapping) else None
    if isinstance(params, Mapping) and params:
        text += " (" + "; ".join(f"{k}: {v}" for k, v in params.items()) + ")"
    return text


def response_error(response: httpx.Response) -> DeliveryError:
    """The DeliveryError for a WooCommerce answer that was not a success."""
    try:
        detail = error_detail(response.json())
    except ValueError:
        detail = response.text[:200] or response.reason_phrase
    hint = _HINTS.get(response.status_code)
    return error_from_response(response, f"WooCommerce: {detail}" + (f" ({hint})" if hint else ""))


class WooClient:
    """Sends JSON to one store's ``/wp-json/wc/v3`` with the consumer key and secret."""

    def __init__(self, http: httpx.AsyncClient, store_url: str, key: str, secret: str) -> None:
        self.http = http
        self.base = store_url.rstrip("/") + API_PREFIX
        self._auth = httpx.BasicAuth(key, secret)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """The successful response; raises DeliveryError otherwise."""
        try:
            response = await self.http.request(
                method,
                self.base + path,
                params=dict(params) if params else None,
                json=json,
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"WooCommerce did not answer in time: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"could not reach WooCommerce: {error!r}") from error
        if not response.is_success:
            raise response_error(response)
        return response

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        response = await self.call(method, path, params=params, json=json)
        try:
            return response.json()
        except ValueError as error:
            raise TransientError(
                f"WooCommerce answered {method} {path} with a body that is not JSON: "
                f"{response.text[:200]!r}"
            ) from error


def batch_errors(answer: Any, sent: list[dict[str, Any]], action: str) -> list[str]:
    """Readable problems of one batch ``create``/``update`` list, each naming the SKU."""
    if not isinstance(answer, Mapping):
        return [f"the batch answer is not an object: {str(answer)[:200]}"]
    results = answer.get(action) or []
    problems = []
    for index, item in enumerate(results):
        error = item.get("error") if isinstance(item, Mapping) else None
        if not isinstance(error, Mapping):
            continue
        request = sent[index] if index < len(sent) else {}
        sku = request.get("sku") or item.get("sku") or f"id {request.get('id', '?')}"
        status = (error.get("data") or {}).get("status") if isinstance(error, Mapping) else None
        problems.append(
            f"SKU {sku}: {error_detail(error)}" + (f" (HTTP {status})" if status else "")
        )
    return problems


def raise_for_batch(answer: Any, sent: Mapping[str, list[dict[str, Any]]], what: str) -> None:
    """PermanentError naming every SKU a batch refused."""
    problems = [p for action, items in sent.items() for p in batch_errors(answer, items, action)]
    if problems:
        raise PermanentError(f"WooCommerce refused {what}: " + "; ".join(problems))
