"""OAuth2 access tokens for connectors: one token per connection, cached and fetched again a
margin before it expires, so that concurrent deliveries ask the platform once and no token dies
mid-request.

A platform's token source subclasses ``OAuthTokens``, names itself for error messages and says
how to ask for a token (``_request_token``: its grant, RFC 6749 section 4). The cache, the lock,
the reading of the ``{access_token, expires_in}`` answer (section 5.1) and the turning of
failures into ``DeliveryError``s, with the platform's own ``error``/``error_description``
(section 5.2), are shared here.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import httpx

from channelhub.connectors.base import PermanentError, TransientError, error_from_response

#: What a token endpoint answers when it refuses the credentials or the grant.
REFUSED_STATUSES = (400, 401, 403)


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the token source's clock

    def is_fresh(self, now: float, margin: float) -> bool:
        """Whether the token still lives more than ``margin`` seconds after ``now``."""
        return now < self.expires_at - margin


class OAuthTokens(ABC):
    """Hands out a valid access token, fetching a new one when the cached one nears expiry.

    Subclasses set the class attributes and implement ``_request_token``."""

    #: Who issues the tokens, as error messages name it ("Login with Amazon").
    service: ClassVar[str]
    #: Fetch a new token this many seconds before the old one expires.
    refresh_margin: ClassVar[float]
    #: The documented lifetime, for an answer without ``expires_in``.
    default_lifetime: ClassVar[float]
    #: The message of a refused grant, before the status and the platform's reason.
    refusal: ClassVar[str]
    #: What the merchant should check after a refused grant.
    remedy: ClassVar[str]

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """An access token valid for at least ``refresh_margin`` more seconds."""
        # Under the lock, callers that find the token stale wait for the one fetch in flight.
        async with self._lock:
            if self._token is None or not self._token.is_fresh(self._clock(), self.refresh_margin):
                self._token = await self._fetch()
            return self._token.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` (the API said it expired) so the next call fetches a new one.

        A token other than ``value`` is kept: another caller has already replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None

    @abstractmethod
    async def _request_token(self) -> httpx.Response:
        """Send the platform's token request to ``self._token_url``."""

    async def _fetch(self) -> AccessToken:
        started = self._clock()
        try:
            response = await self._request_token()
        except httpx.TimeoutException as error:
            raise TransientError(f"{self.service} timed out: {error!r}") from error
        except httpx.TransportError as error:
            raise TransientError(f"{self.service} unreachable: {error!r}") from error
        if response.status_code in REFUSED_STATUSES:
            raise PermanentError(
                f"{self.refusal} ({response.status_code} {oauth_error(response)}): {self.remedy}",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_from_response(
                response, f"could not obtain an access token from {self.service}"
            )
        return self._read_token(response, started)

    def _read_token(self, response: httpx.Response, started: float) -> AccessToken:
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", self.default_lifetime))
        except (ValueError, KeyError, TypeError) as error:
            raise TransientError(
                f"{self.service} answered an unreadable token: {response.text[:200]}"
            ) from error
        # Count the lifetime from when we asked, not when the answer arrived: errs on the safe side.
        return AccessToken(value=value, expires_at=started + lifetime)


def oauth_error(response: httpx.Response) -> str:
    """The reason a token endpoint gave for refusing (``error: error_description``), or the
    start of its body when it is not OAuth's error JSON."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or "no details"
    if not isinstance(body, dict):
        return str(body)[:200]
    parts = [str(body[key]) for key in ("error", "error_description") if body.get(key)]
    return ": ".join(parts) or "no details"
