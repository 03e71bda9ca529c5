"""OAuth2 client-credentials tokens for the bol.com Retailer API, refreshed ahead of expiry.

Documented flow (api.bol.com/retailer/public/Retailer-API/authentication.html, v10):
``POST https://login.bol.com/token?grant_type=client_credentials`` with HTTP Basic
``client_id:client_secret`` answers ``{access_token, token_type, expires_in, scope}``; the token
lives about 299 seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    TransientError,
    error_from_response,
)

# Refresh this many seconds before bol.com's expiry, so a token never dies mid-request.
REFRESH_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the token source's clock

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN_SECONDS


class TokenSource:
    """Hands out a valid bearer token, fetching a new one when the cached one nears expiry."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A bearer token valid for at least ``REFRESH_MARGIN_SECONDS`` more."""
        async with self._lock:
            if self._token is None or not self._token.is_fresh(self._clock()):
                self._token = await self._fetch()
            return self._token.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` (bol.com answered 401 to it) so the next call fetches a new one."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> AccessToken:
        started = self._clock()
        try:
            response = await self._http.post(
                self._token_url,
                params={"grant_type": "client_credentials"},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"bol.com login timed out: {error}") from error
        except httpx.TransportError as error:
            raise TransientError(f"bol.com login unreachable: {error}") from error
        if response.status_code in (400, 401, 403):
            raise PermanentError(
                "bol.com refused the client id and secret "
                f"({response.status_code}): check the API credentials in the seller dashboard",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_from_response(response, "could not obtain an access token")
        return _parse_token(response, started)


def _parse_token(response: httpx.Response, started: float) -> AccessToken:
    try:
        body = response.json()
        value = str(body["access_token"])
        lifetime = float(body.get("expires_in", 299))
    except (ValueError, KeyError, TypeError) as error:
        raise _bad_token_response(response) from error
    # Count the lifetime from when we asked, not when the answer arrived: errs on the safe side.
    return AccessToken(value=value, expires_at=started + lifetime)


def _bad_token_response(response: httpx.Response) -> DeliveryError:
    return TransientError(f"bol.com login answered an unreadable token: {response.text[:200]}")
