"""HTTP plumbing for the Medusa v2 Admin API: sign-in, the token's renewal, and errors.

Medusa answers errors as ``{"type": ..., "message": ...}`` (its framework's error handler:
invalid_data and not_allowed 400, unauthorized 401, not_found 404, conflict 409,
duplicate_error 422, database and unknown errors 500). Core Medusa has no rate limiter; a proxy
in front of it may answer 429 with ``Retry-After``. A short wait is taken here (one push makes
several calls, and starting it over would spend the budget again); a longer one goes back to
the engine as RateLimited, which pauses the connection.
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    RateLimited,
    TransientError,
    error_from_response,
)
from channelhub.connectors.medusa.config import MedusaConfig
from channelhub.connectors.medusa.mapping import describe_error

LOGIN_PATH = "/auth/user/emailpass"
#: Wait inline for a 429's Retry-After up to this long, at most ``MAX_INLINE_WAITS`` times.
MAX_INLINE_WAIT_SECONDS = 2.0
MAX_INLINE_WAITS = 3


class MedusaClient:
    """Sends one Admin API request, signed in, and returns its JSON body or raises."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        config: MedusaConfig,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._sleep = sleep
        self._config = config
        self._base = config.url.rstrip("/")
        self._token: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON body of the 2xx answer to ``method path``, or a DeliveryError."""
        response = await self._send(method, path, json=json, params=params)
        if response.status_code == 401 and self._config.api_key is None:
            # The bearer token expired (Medusa's JWTs last a day by default): sign in again.
            self._token = None
            response = await self._send(method, path, json=json, params=params)
        waits = 0
        while response.status_code == 429 and waits < MAX_INLINE_WAITS:
            error = self._error(response)
            wait = error.retry_after if isinstance(error, RateLimited) else None
            if wait is None or wait > MAX_INLINE_WAIT_SECONDS:
                raise error
            await self._sleep(wait)
            waits += 1
            response = await self._send(method, path, json=json, params=params)
        if not response.is_success:
            raise self._error(response)
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise TransientError(
                f"{method} {path}: Medusa answered {response.status_code} with no JSON body"
            ) from None
        return body if isinstance(body, dict) else {"value": body}

    async def _authorization(self) -> str:
        config = self._config
        if config.api_key is not None:
            raw = f"{config.api_key.get_secret_value()}:".encode()
            return "Basic " + base64.b64encode(raw).decode()
        if self._token is None:
            self._token = await self._sign_in()
        return f"Bearer {self._token}"

    async def _sign_in(self) -> str:
        config = self._config
        assert config.email is not None and config.password is not None
        body = {"email": config.email, "password": config.password.get_secret_value()}
        response = await self._post_raw(LOGIN_PATH, body)
        if response.status_code == 401:
            raise PermanentError(
                f"Medusa refused the sign-in of {config.email}: "
                f"{describe_error(_json_or_none(response), response.text)}",
                status=401,
            )
        if not response.is_success:
            raise self._error(response)
        token = (_json_or_none(response) or {}).get("token")
        if not isinstance(token, str) or not token:
            raise PermanentError(f"POST {LOGIN_PATH} gave no token: {response.text[:200]}")
        return token

    async def _post_raw(self, path: str, body: Any) -> httpx.Response:
        try:
            return await self._http.post(
                self._base + path,
                content=jsonlib.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"POST {path} timed out at Medusa: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"POST {path} could not reach Medusa: {error!r}") from error

    async def _send(
        self, method: str, path: str, *, json: Any, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        headers = {"Accept": "application/json", "Authorization": await self._authorization()}
        content = None
        if json is not None:
            headers["Content-Type"] = "application/json"
            content = jsonlib.dumps(json, separators=(",", ":")).encode()
        try:
            return await self._http.request(
                method, self._base + path, params=params, headers=headers, content=content
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {path} timed out at Medusa: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"{method} {path} could not reach Medusa: {error!r}") from error

    def _error(self, response: httpx.Response) -> DeliveryError:
        detail = describe_error(_json_or_none(response), response.text)
        if response.status_code == 401:
            return PermanentError(
                f"{response.request.method} {response.request.url.path} -> 401: {detail} "
                "(check the connection's credentials)",
                status=401,
            )
        return error_from_response(response, detail)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
