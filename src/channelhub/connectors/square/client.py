"""HTTP plumbing for the Square API: the bearer access token, the ``Square-Version`` header,
and Square's error body (``{"errors": [{category, code, detail, field}]}``) turned into the
engine's errors, RATE_LIMITED (429) into RateLimited."""

from __future__ import annotations

from typing import Any

import httpx

from channelhub.connectors.base import (
    DeliveryError,
    PermanentError,
    TransientError,
    error_from_response,
)

#: The Square API version this connector is written against (the spec's Square-Version).
SQUARE_VERSION = "2025-08-20"


def describe_errors(errors: Any) -> str:
    """Square's errors as one line: ``CODE (CATEGORY) at field: detail; ...``."""
    if not isinstance(errors, list) or not errors:
        return "no error details"
    parts = []
    for error in errors[:10]:
        if not isinstance(error, dict):
            continue
        text = f"{error.get('code', 'ERROR')} ({error.get('category', 'UNKNOWN')})"
        if error.get("field"):
            text += f" at {error['field']}"
        if error.get("detail"):
            text += f": {error['detail']}"
        parts.append(text)
    return "; ".join(parts) or "no error details"


class SquareClient:
    """Sends one Square API request and returns its JSON, or raises a DeliveryError."""

    def __init__(self, http: httpx.AsyncClient, api_url: str, access_token: str) -> None:
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {access_token}",
            "Square-Version": SQUARE_VERSION,
            "Accept": "application/json",
        }

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            response = await self.http.request(
                method, self.api_url + path, json=body, headers=self.headers
            )
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {path} timed out: {error}") from None
        except httpx.TransportError as error:
            raise TransientError(f"{method} {path} failed: {error}") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            if data.get("errors"):  # a 200 that still reports errors (batch endpoints)
                raise PermanentError(f"{method} {path}: {describe_errors(data['errors'])}")
            return data
        if response.is_success:
            raise TransientError(f"{method} {path} answered {response.status_code} without JSON")
        detail = describe_errors(data.get("errors") if isinstance(data, dict) else None)
        failure: DeliveryError = error_from_response(response, f"Square says {detail}")
        raise failure
