"""HTTP calls to the Magento 2 / Adobe Commerce REST API and what their failures mean.

Follows the admin REST schema of 2.4.9 (``shared/specs/magento/admin-schema-2.4.9.yaml``):
errors are ``error-response`` objects, ``{"message": "...", "parameters": ..., "errors": [...]}``
whose message holds placeholders filled from ``parameters``, either by position (``%1``, with
a list) or by name (``%fieldName``, with an object). Since 2.4.3 the Web API refuses more than
20 entities in one list input and more than 300 items a page unless the store raised those
limits; 2.4.7's backpressure answers 429.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    TransientError,
    error_from_response,
)

API_VERSION = "2.4.9"
_PLACEHOLDER = re.compile(r"%(\d+|[A-Za-z_][A-Za-z0-9_]*)")
_HINTS = {
    401: "the access token is invalid, expired or lacks this resource",
    404: "no such entity, or no REST API at this address and store code",
}


def render(message: Any, parameters: Any) -> str:
    """``message`` with its ``%1`` / ``%name`` placeholders filled from ``parameters``."""
    text = str(message or "")
    if isinstance(parameters, list):
        values = {str(i + 1): v for i, v in enumerate(parameters)}
        for item in parameters:  # the schema's shape: [{"fieldName": ..., "fieldValue": ...}]
            if isinstance(item, Mapping):
                values.update({str(k): v for k, v in item.items()})
    elif isinstance(parameters, Mapping):
        values = {str(k): v for k, v in parameters.items()}
    else:
        values = {}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    return _PLACEHOLDER.sub(fill, text)


def error_detail(body: Any) -> str:
    """A readable sentence from an ``error-response`` body, its ``errors`` included."""
    if not isinstance(body, Mapping) or "message" not in body:
        return str(body)[:300]
    text = render(body.get("message"), body.get("parameters"))
    details = [
        render(e.get("message"), e.get("parameters"))
        for e in body.get("errors") or []
        if isinstance(e, Mapping)
    ]
    return text + (": " + "; ".join(details) if details else "")


def response_error(response: httpx.Response) -> DeliveryError:
    try:
        detail = error_detail(response.json())
    except ValueError:
        detail = response.text[:200] or response.reason_phrase
    hint = _HINTS.get(response.status_code)
    return error_from_response(response, f"Magento: {detail}" + (f" ({hint})" if hint else ""))


class MagentoClient:
    """Sends JSON to ``{base_url}/rest/{store_code}/V1`` with a bearer token, which comes
    from the configuration (an integration's access token) or from the admin token endpoint
    (renewed once when Magento answers 401)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        store_code: str,
        token: str | None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.http = http
        self.base = f"{base_url.rstrip('/')}/rest/{store_code}/V1"
        self._token = token
        self._login = login

    async def _admin_token(self) -> str:
        if self._login is None:
            raise PermanentError("no Magento access token and no admin login configured")
        username, password = self._login
        response = await self._send(
            "POST",
            "/integration/admin/token",
            json={"username": username, "password": password},
            token=None,
        )
        token = response.json()
        if not isinstance(token, str) or not token:
            raise PermanentError("Magento's token endpoint answered without a token")
        return token

    async def _send(
        self, method: str, path: str, *, params: Any = None, json: Any = None, token: str | None
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self.http.request(
                method, self.base + path, params=params, json=json, headers=headers
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"Magento did not answer in time: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"could not reach Magento: {error!r}") from error
        if not response.is_success:
            raise response_error(response)
        return response

    async def json(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        """The decoded answer of a successful call; raises DeliveryError otherwise."""
        if self._token is None and self._login is not None:
            self._token = await self._admin_token()
        try:
            response = await self._send(method, path, params=params, json=json, token=self._token)
        except PermanentError as error:
            if error.status != 401 or self._login is None:
                raise
            self._token = await self._admin_token()  # admin tokens expire (4 hours by default)
            response = await self._send(method, path, params=params, json=json, token=self._token)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise TransientError(
                f"Magento answered {method} {path} with a body that is not JSON: "
                f"{response.text[:200]!r}"
            ) from error


def search_params(
    filters: list[tuple[str, str, str]],
    *,
    sort: tuple[str, str] | None = None,
    page_size: int | None = None,
    current_page: int | None = None,
) -> list[tuple[str, str]]:
    """``searchCriteria`` query parameters: each filter in its own group (AND)."""
    params: list[tuple[str, str]] = []
    for group, (field, value, condition) in enumerate(filters):
        prefix = f"searchCriteria[filter_groups][{group}][filters][0]"
        params += [
            (f"{prefix}[field]", field),
            (f"{prefix}[value]", value),
            (f"{prefix}[condition_type]", condition),
        ]
    if sort is not None:
        params += [
            ("searchCriteria[sortOrders][0][field]", sort[0]),
            ("searchCriteria[sortOrders][0][direction]", sort[1]),
        ]
    if page_size is not None:
        params.append(("searchCriteria[pageSize]", str(page_size)))
    if current_page is not None:
        params.append(("searchCriteria[currentPage]", str(current_page)))
    return params
