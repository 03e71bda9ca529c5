"""The Medusa v2 sandbox: an ASGI app answering the Admin API subset the hub uses.

Routes and bodies follow Medusa's Admin OpenAPI document (shared/specs/medusa/admin), except
``POST /admin/products/{id}/options/batch``, the route Medusa 2.17+ uses to add option values
(the older ``/options/{option_id}`` is gone from 2.21.2; measured on the real server). Sign-in:
``POST /auth/user/emailpass`` gives a bearer token; a secret key works as HTTP Basic. Errors
are ``{"type", "message"}``. The ``fields`` query is accepted and whole objects are returned.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelhub.sandbox.faults import MISTYPED_REQUEST, Faults, TokenBucket
from channelhub.sandbox.medusa import admin
from channelhub.sandbox.medusa.state import MedusaError, MedusaState

Handler = Callable[[Request, MedusaState], Awaitable[Any]]


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"type": kind, "message": message}, status_code=status, headers=headers)


def create_app(state: MedusaState | None = None, faults: Faults | None = None) -> Starlette:
    """The sandbox app; ``app.state.medusa`` and ``app.state.faults`` are there for tests."""
    state = state or MedusaState()
    faults = faults or Faults()
    bucket = TokenBucket(state.rate_limit, max(1.0, state.rate_limit)) if state.rate_limit else None

    def route(path: str, method: str, handler: Handler, *, status: int = 200) -> Route:
        async def serve(request: Request) -> Response:
            state.requests.append((method, request.url.path))
            fault = faults.draw()
            if fault in ("outage", "error"):
                return error(
                    503 if fault == "outage" else 500, "unknown_error", "An unknown error occurred."
                )
            if fault == "throttle":
                state.throttled += 1
                return error(429, "too_many_requests", "Too many requests", {"Retry-After": "1"})
            if fault == "timeout":
                await faults.stall()
            if bucket is not None:
                wait = bucket.take()
                if wait > 0:
                    state.throttled += 1
                    retry = str(max(1, math.ceil(wait)))
                    return error(
                        429, "too_many_requests", "Too many requests", {"Retry-After": retry}
                    )
            if not _signed_in(request, state):
                return error(401, "unauthorized", "Unauthorized")
            try:
                body = await handler(request, state)
            except MedusaError as failure:
                return error(failure.status, failure.kind, failure.message)
            except MISTYPED_REQUEST as failure:
                return error(400, "invalid_data", f"Invalid request: {failure}")
            return JSONResponse(body, status_code=status)

        return Route(path, serve, methods=[method])

    async def sign_in(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "invalid_data", "Invalid request: body is not JSON")
        if body.get("email") != state.email or body.get("password") != state.password:
            return error(401, "unauthorized", "Invalid email or password")
        token = secrets.token_urlsafe(24)
        state.tokens.add(token)
        return JSONResponse({"token": token})

    routes = [
        Route("/auth/user/emailpass", sign_in, methods=["POST"]),
        route("/admin/stock-locations", "GET", admin.list_stock_locations),
        route("/admin/sales-channels", "GET", admin.list_sales_channels),
        route("/admin/shipping-profiles", "GET", admin.list_shipping_profiles),
        route("/admin/products", "GET", admin.list_products),
        route("/admin/products", "POST", admin.create_product),
        route("/admin/products/{id}", "GET", admin.get_product),
        route("/admin/products/{id}", "POST", admin.update_product),
        route("/admin/products/{id}/options/batch", "POST", admin.batch_options),
        route("/admin/products/{id}/variants", "POST", admin.create_variant),
        route("/admin/products/{id}/variants/{variant_id}", "POST", admin.update_variant),
        route("/admin/products/{id}/variants/{variant_id}", "DELETE", admin.delete_variant),
        route("/admin/product-variants", "GET", admin.list_variants),
        route("/admin/inventory-items", "GET", admin.list_inventory_items),
        route("/admin/inventory-items/{id}/location-levels", "POST", admin.create_level),
        route(
            "/admin/inventory-items/{id}/location-levels/{location_id}", "POST", admin.update_level
        ),
        route("/admin/orders", "GET", admin.list_orders),
        route("/admin/orders/{id}", "GET", admin.get_order),
        route("/admin/orders/{id}/cancel", "POST", admin.cancel_order),
        route("/admin/orders/{id}/fulfillments", "POST", admin.create_fulfillment),
        route(
            "/admin/orders/{id}/fulfillments/{fulfillment_id}/shipments",
            "POST",
            admin.create_shipment,
        ),
    ]
    app = Starlette(routes=routes)
    app.state.medusa = state
    app.state.faults = faults
    return app


def _signed_in(request: Request, state: MedusaState) -> bool:
    kind, _, credential = request.headers.get("authorization", "").partition(" ")
    if kind.lower() == "bearer":
        return credential in state.tokens
    if kind.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded.removesuffix(":") == state.secret_key
    return False
