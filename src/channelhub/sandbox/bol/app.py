"""The bol.com sandbox: an ASGI app answering the documented Retailer API subset.

Contracts followed: Offers API v11 (11.3.0) for ``/retailer/offers*`` (synchronous: 201 with the
offer id, PATCH and DELETE 204), Retailer API v10 for orders, shipments and cancellations (202 with
a process status), Retailer API v10 push notification subscriptions and their signature keys
(``subscriptions.py``), Shared API v10 for ``/shared/process-status/{id}``, and login.bol.com's
client-credentials token endpoint, served here at ``/token``. Every API answer carries
``x-ratelimit-limit/remaining/reset``; errors are bol.com's problem JSON with violations.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelhub.sandbox.bol import offers, orders, subscriptions
from channelhub.sandbox.bol.errors import V10, V11, instance_of, problem
from channelhub.sandbox.bol.state import BolState
from channelhub.sandbox.faults import MISTYPED_REQUEST, Faults, TokenBucket

Handler = Callable[[Request, BolState], Awaitable[Response]]


def create_app(state: BolState | None = None, faults: Faults | None = None) -> Starlette:
    """The sandbox app; ``app.state.bol`` and ``app.state.faults`` are there for tests."""
    state = state or BolState()
    faults = faults or Faults()

    def route(path: str, method: str, endpoint: str, media_type: str, handler: Handler) -> Route:
        async def serve(request: Request) -> Response:
            return await _guarded(request, state, faults, endpoint, media_type, handler)

        return Route(path, serve, methods=[method])

    async def token(request: Request) -> Response:
        return await _token(request, state, faults)

    routes = [
        Route("/token", token, methods=["POST"]),
        route("/retailer/offers", "GET", "GET /retailer/offers", V11, offers.list_offers),
        route("/retailer/offers", "POST", "POST /retailer/offers", V11, offers.create_offer),
        route("/retailer/offers/{id}", "GET", "GET /retailer/offers/{id}", V11, offers.get_offer),
        route(
            "/retailer/offers/{id}", "PATCH", "PATCH /retailer/offers/{id}", V11, offers.patch_offer
        ),
        route(
            "/retailer/offers/{id}",
            "DELETE",
            "DELETE /retailer/offers/{id}",
            V11,
            offers.delete_offer,
        ),
        route(
            "/retailer/orders/cancellation",
            "PUT",
            "PUT /retailer/orders/cancellation",
            V10,
            orders.cancel,
        ),
        route("/retailer/orders", "GET", "GET /retailer/orders", V10, orders.list_orders),
        route("/retailer/orders/{id}", "GET", "GET /retailer/orders/{id}", V10, orders.get_order),
        route("/retailer/shipments", "POST", "POST /retailer/shipments", V10, orders.ship),
        route(
            "/retailer/subscriptions/signature-keys",
            "GET",
            "GET /retailer/subscriptions/signature-keys",
            V10,
            subscriptions.signature_keys,
        ),
        route(
            "/retailer/subscriptions",
            "GET",
            "GET /retailer/subscriptions",
            V10,
            subscriptions.list_subscriptions,
        ),
        route(
            "/retailer/subscriptions",
            "POST",
            "POST /retailer/subscriptions",
            V10,
            subscriptions.create_subscription,
        ),
        route(
            "/retailer/subscriptions/test/{id}",
            "POST",
            "POST /retailer/subscriptions/test/{id}",
            V10,
            subscriptions.test_subscription,
        ),
        route(
            "/retailer/subscriptions/{id}",
            "GET",
            "GET /retailer/subscriptions/{id}",
            V10,
            subscriptions.get_subscription,
        ),
        route(
            "/retailer/subscriptions/{id}",
            "PUT",
            "PUT /retailer/subscriptions/{id}",
            V10,
            subscriptions.update_subscription,
        ),
        route(
            "/retailer/subscriptions/{id}",
            "DELETE",
            "DELETE /retailer/subscriptions/{id}",
            V10,
            subscriptions.delete_subscription,
        ),
        route(
            "/shared/process-status",
            "GET",
            "GET /shared/process-status",
            V10,
            orders.process_statuses,
        ),
        route(
            "/shared/process-status/{id}",
            "GET",
            "GET /shared/process-status/{id}",
            V10,
            orders.process_status,
        ),
    ]
    app = Starlette(routes=routes)
    state.signing_key  # noqa: B018  # the push notification key pair is made at start
    app.state.bol = state
    app.state.faults = faults
    return app


async def _fault(faults: Faults, media_type: str, path: str) -> Response | None:
    fault = faults.draw()
    if fault == "outage":
        return problem(503, "Service Unavailable", "Sandbox outage.", media_type=media_type)
    if fault == "error":
        status = random.choice([500, 502, 503])
        return problem(status, "Server error", "Injected fault.", media_type=media_type)
    if fault == "throttle":
        return problem(
            429,
            "Too Many Requests",
            "Injected throttle.",
            media_type=media_type,
            instance=path,
            headers={"Retry-After": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"},
        )
    if fault == "timeout":
        await faults.stall()
    return None


async def _guarded(
    request: Request,
    state: BolState,
    faults: Faults,
    endpoint: str,
    media_type: str,
    handler: Handler,
) -> Response:
    """Faults, bearer token, content negotiation and the endpoint's budget, then the handler."""
    path = request.url.path
    state.requests.append((request.method, path))
    uri = instance_of(request)
    injected = await _fault(faults, media_type, uri)
    if injected is not None:
        return injected
    authorization = request.headers.get("authorization", "")
    token = authorization[7:] if authorization.lower().startswith("bearer ") else None
    token_problem = state.token_problem(token)
    if token_problem:
        return problem(401, "Unauthorized", token_problem, media_type=media_type, instance=uri)
    if media_type not in request.headers.get("accept", ""):
        return problem(
            406,
            "Not Acceptable",
            f"This endpoint only serves {media_type}.",
            media_type=media_type,
            instance=uri,
        )
    if request.method in ("PUT", "PATCH") or (request.method == "POST" and await request.body()):
        # A POST without a body (``/retailer/subscriptions/test/{id}``) names no media type.
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != media_type:
            return problem(
                415,
                "Unsupported Media Type",
                f"Content-Type must be {media_type}.",
                media_type=media_type,
                instance=uri,
            )
    bucket, limit = state.bucket(endpoint)
    wait = bucket.take()
    remaining = max(0, int(bucket.tokens))
    # "When the budget will be replenished": the seconds until the next request is allowed
    # again, so a 429's x-ratelimit-reset equals its Retry-After (not the time until the
    # whole bucket is full, which for 25 per minute said 60 beside a Retry-After of 3).
    reset = 0 if bucket.tokens >= limit.capacity else math.ceil(wait or _next_token(bucket))
    headers = {
        "x-ratelimit-limit": str(limit.capacity),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
    }
    if wait > 0:
        headers["Retry-After"] = str(math.ceil(wait))
        return problem(
            429,
            "Too Many Requests",
            f"Rate limit of {limit.capacity} per {limit.window:g}s exceeded for {endpoint}.",
            media_type=media_type,
            instance=uri,
            headers=headers,
        )
    try:
        response = await handler(request, state)
    except MISTYPED_REQUEST as error:
        return problem(
            400,
            "Bad Request",
            "Validation error",
            media_type=media_type,
            instance=uri,
            violations=[{"name": "body", "reason": f"Request is not valid: {error}"}],
        )
    response.headers.update(headers)
    return response


def _next_token(bucket: TokenBucket) -> float:
    """Seconds until the bucket holds one more whole request than now."""
    return (math.floor(bucket.tokens) + 1 - bucket.tokens) / bucket.rate


async def _token(request: Request, state: BolState, faults: Faults) -> Response:
    """login.bol.com's ``POST /token?grant_type=client_credentials`` with HTTP Basic."""
    injected = await _fault(faults, "application/json", instance_of(request))
    if injected is not None:
        return injected
    if request.query_params.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    client_id, secret = _basic(request.headers.get("authorization", ""))
    if client_id is None or state.clients.get(client_id) != secret:
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    return JSONResponse(
        {
            "access_token": state.issue_token(),
            "token_type": "Bearer",
            "expires_in": int(state.token_lifetime),
            "scope": "RETAILER",
        }
    )


def _basic(header: str) -> tuple[str | None, str | None]:
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
