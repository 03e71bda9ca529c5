"""bol.com's error body and request-body helpers shared by the sandbox's handlers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

V10 = "application/vnd.retailer.v10+json"
V11 = "application/vnd.retailer.v11+json"


def instance_of(request: Request) -> str:
    """``Problem.instance``: the contract's "full URI path of the resource", an absolute URI
    (``format: uri``) without the query, not just the path."""
    return str(request.url.replace(query="", fragment=""))


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    media_type: str = V10,
    instance: str = "",
    violations: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """bol.com's error body (v10 ``Problem``: type, title, status, detail, host, violations)."""
    body = {
        "type": "https://api.bol.com/problems",
        "title": title,
        "status": status,
        "detail": detail,
        "host": "channelhub-sandbox",
        "instance": instance or None,
        "violations": violations or [],
    }
    return JSONResponse(body, status_code=status, media_type=media_type, headers=headers)


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


def invalid(request: Request, violations: list[dict[str, str]], media_type: str) -> Response:
    return problem(
        400,
        "Bad Request",
        "Validation error",
        media_type=media_type,
        instance=instance_of(request),
        violations=violations,
    )
