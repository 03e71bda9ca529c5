"""Login with Amazon (LWA) access tokens for the Selling Partner API, from the seller's
refresh token, cached until shortly before they expire.

Documented flow (developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api,
step 1): ``POST https://api.amazon.com/auth/o2/token`` with the form fields
``grant_type=refresh_token``, ``refresh_token``, ``client_id`` and ``client_secret`` answers
``{access_token, token_type: "bearer", expires_in: 3600, refresh_token}``; the access token goes
in the ``x-amz-access-token`` header of every SP-API call. A refused grant answers 400/401 with
``{"error": "invalid_grant" | "invalid_client" | ..., "error_description": ...}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from channelhub.connectors.base import PermanentError, TransientError, error_from_response

# Refresh this many seconds before LWA's expiry, so a token never dies mid-request.
REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the token source's clock

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN_SECONDS


class LwaTokens:
    """Hands out a valid LWA access token, exchanging the refresh token when needed."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """An access token valid for at least ``REFRESH_MARGIN_SECONDS`` more."""
        async with self._lock:
            if self._token is None or not self._token.is_fresh(self._clock()):
                self._token = await self._fetch()
            return self._token.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` (the SP-API said it expired) so the next call fetches a new one."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> AccessToken:
        started = self._clock()
        try:
            response = await self._http.post(
                self._token_url, data=self._form, headers={"Accept": "application/json"}
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"Login with Amazon timed out: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"Login with Amazon unreachable: {error!r}") from error
        if response.status_code in (400, 401, 403):
            raise PermanentError(
                f"Login with Amazon refused the refresh token ({response.status_code} "
                f"{_lwa_error(response)}): check the LWA client id and secret and that the "
                "seller's authorization of the app (its refresh token) is still valid",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_from_response(response, "could not obtain an LWA access token")
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as error:
            raise TransientError(
                f"Login with Amazon answered an unreadable token: {response.text[:200]}"
            ) from error
        # Count the lifetime from when we asked, not when the answer arrived: errs on the safe side.
        return AccessToken(value=value, expires_at=started + lifetime)


def _lwa_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(body, dict):
        return str(body)[:200]
    parts = [str(body[key]) for key in ("error", "error_description") if body.get(key)]
    return ": ".join(parts) or "no details"
