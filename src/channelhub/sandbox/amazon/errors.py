"""SP-API's error body and request helpers shared by the sandbox's handlers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def errors(
    status: int,
    code: str,
    message: str,
    details: str = "",
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """SP-API's ``ErrorList``: ``{"errors": [{"code", "message", "details"}]}``."""
    error: dict[str, str] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


def invalid_input(message: str, details: str = "") -> JSONResponse:
    return errors(400, "InvalidInput", message, details)


def not_found(message: str) -> JSONResponse:
    return errors(404, "NotFound", message)


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


def csv_param(request: Request, name: str) -> list[str]:
    """A CSV array query parameter (``collectionFormat: csv``), repeated or comma-joined."""
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values += [part for part in raw.split(",") if part]
    return values
