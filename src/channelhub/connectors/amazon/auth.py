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

import time
from collections.abc import Callable

import httpx

from channelhub.connectors.oauth import OAuthTokens


class LwaTokens(OAuthTokens):
    """Hands out a valid LWA access token, exchanging the refresh token when needed."""

    service = "Login with Amazon"
    refresh_margin = 60.0
    default_lifetime = 3600.0
    refusal = "Login with Amazon refused the refresh token"
    remedy = (
        "check the LWA client id and secret and that the seller's authorization of the app "
        "(its refresh token) is still valid"
    )

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
        super().__init__(http, token_url=token_url, clock=clock)
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }

    async def _request_token(self) -> httpx.Response:
        return await self._http.post(
            self._token_url, data=self._form, headers={"Accept": "application/json"}
        )
