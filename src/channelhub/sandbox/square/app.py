"""The Square sandbox: an ASGI app answering the Square API subset the hub uses, at
Square-Version 2025-08-20: Locations, Catalog (batch upsert, search, batch retrieve), Inventory
(changes batch-create, counts batch-retrieve) and Orders (search). Bearer access tokens, errors
in Square's ``{"errors": [...]}`` format, 429 RATE_LIMITED past the token's request budget."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelhub.sandbox.faults import MISTYPED_REQUEST
from channelhub.sandbox.square import catalog, inventory, orders, shapes
from channelhub.sandbox.square.state import SQUARE_VERSION, SquareError, SquareState

Handler = Callable[[SquareState, dict[str, Any]], dict[str, Any]]
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def create_app(state: SquareState | None = None) -> Starlette:
    """The sandbox app; ``app.state.square`` is there for tests and the demo."""
    state = state or SquareState()

    def post(path: str, handler: Handler) -> Route:
        async def serve(request: Request) -> Response:
            return await _guarded(request, state, handler)

        return Route(path, serve, methods=["POST"])

    async def locations(request: Request) -> Response:
        return await _guarded(
            request, state, lambda s, _b: {"locations": list(s.locations.values())}
        )

    app = Starlette(
        routes=[
            Route("/v2/locations", locations, methods=["GET"]),
            post("/v2/catalog/batch-upsert", catalog.batch_upsert),
            post("/v2/catalog/search", catalog.search),
            post("/v2/catalog/batch-retrieve", catalog.batch_retrieve),
            post("/v2/inventory/changes/batch-create", inventory.batch_change),
            post("/v2/inventory/counts/batch-retrieve", inventory.batch_counts),
            post("/v2/orders/search", orders.search),
        ]
    )
    app.state.square = state
    return app


def _error(error: SquareError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


async def _guarded(request: Request, state: SquareState, handler: Handler) -> Response:
    """Faults, the bearer token, Square-Version, the rate budget and the body, then the
    handler, under the state's lock (one request changes the state at a time)."""
    fault = state.faults.draw()
    if fault == "outage" or fault == "error":
        status = 503 if fault == "outage" else random.choice([500, 502, 503])
        return _error(SquareError(status, "SERVICE_UNAVAILABLE", "injected fault"))
    if fault == "throttle":
        return _error(SquareError(429, "RATE_LIMITED", "injected throttle"))
    if fault == "timeout":
        await state.faults.stall()
    authorization = request.headers.get("authorization", "")
    token = authorization[7:] if authorization.startswith("Bearer ") else None
    if token != state.access_token:
        return _error(SquareError(401, "UNAUTHORIZED", "This request could not be authorized."))
    version = request.headers.get("square-version", SQUARE_VERSION)
    if not _VERSION.match(version):
        return _error(
            SquareError(
                400, "INVALID_SQUARE_VERSION_FORMAT", f"Square-Version {version!r} is not a date"
            )
        )
    if state.bucket().take() > 0:
        return _error(SquareError(429, "RATE_LIMITED", "too many requests with this access token"))
    body: dict[str, Any] = {}
    if request.method == "POST":
        try:
            parsed = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(SquareError(400, "EXPECTED_JSON_BODY", "the body is not JSON"))
        if not isinstance(parsed, dict):
            return _error(SquareError(400, "EXPECTED_OBJECT", "the body is not a JSON object"))
        try:
            shapes.check_body(request.url.path, parsed)
        except SquareError as error:
            return _error(error)
        body = parsed
    with state.lock:
        state.requests.append((request.method, request.url.path, body))
        try:
            answer = handler(state, body)
        except SquareError as error:
            return _error(error)
        except MISTYPED_REQUEST as error:
            return _error(SquareError(400, "BAD_REQUEST", f"The request is not valid: {error}"))
    return JSONResponse(answer, headers={"square-version": version})
