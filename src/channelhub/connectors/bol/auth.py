"""OAuth2 client-credentials tokens for the bol.com Retailer API, refreshed ahead of expiry.

Documented flow (api.bol.com/retailer/public/Retailer-API/authentication.html, v10):
``POST https://login.bol.com/token?grant_type=client_credentials`` with HTTP Basic
``client_id:client_secret`` answers ``{access_token, token_type, expires_in, scope}``; the token
lives about 299 seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from channelhub.connectors.oauth import OAuthTokens


class TokenSource(OAuthTokens):
    """Hands out a valid bearer token, fetching a new one when the cached one nears expiry."""

    service = "bol.com login"
    refresh_margin = 30.0
    default_lifetime = 299.0
    refusal = "bol.com refused the client id and secret"
    remedy = "check the API credentials in the seller dashboard"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(http, token_url=token_url, clock=clock)
        self._auth = httpx.BasicAuth(client_id, client_secret)

    async def _request_token(self) -> httpx.Response:
        return await self._http.post(
            self._token_url,
            params={"grant_type": "client_credentials"},
            auth=self._auth,
            headers={"Accept": "application/json"},
        )
