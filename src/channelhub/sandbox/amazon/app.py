"""The Amazon SP-API sandbox: an ASGI app answering the documented subset of the Selling
Partner API, and Login with Amazon's token endpoint, from one base URL.

Contracts followed: LWA ``POST /auth/o2/token`` (refresh-token grant, form encoded); Listings
Items API 2021-08-01 (get/put/patch by SKU); Feeds API 2021-06-30 (documents, feeds, the
JSON_LISTINGS_FEED v2 and its processing report v2); Orders API v0 (getOrders,
getOrderItems, confirmShipment). Every SP-API call needs a valid ``x-amz-access-token``; each
operation has its own token bucket with Amazon's default usage plan, announced in
``x-amzn-RateLimit-Limit``; over budget the answer is 429 ``QuotaExceeded`` in SP-API's error
body. Test helpers: ``AmazonState.create_order`` and ``set_order_status``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.amazon import feeds, listings, orders
from channelhub.sandbox.amazon.errors import errors, invalid_input
from channelhub.sandbox.amazon.state import AmazonState, Seller
from channelhub.sandbox.faults import MISTYPED_REQUEST, Faults

Handler = Callable[[Request, AmazonState, Seller], Awaitable[Response]]
ITEM = "/listings/2021-08-01/items/{seller_id}/{sku:path}"
ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", ITEM, "getListingsItem", listings.get_item),
    ("PUT", ITEM, "putListingsItem", listings.put_item),
    ("PATCH", ITEM, "patchListingsItem", listings.patch_item),
    ("POST", "/feeds/2021-06-30/documents", "createFeedDocument", feeds.create_document),
    ("GET", "/feeds/2021-06-30/documents/{id}", "getFeedDocument", feeds.get_feed_document),
    ("POST", "/feeds/2021-06-30/feeds", "createFeed", feeds.create_feed),
    ("GET", "/feeds/2021-06-30/feeds", "getFeeds", feeds.get_feeds),
    ("GET", "/feeds/2021-06-30/feeds/{id}", "getFeed", feeds.get_feed),
    ("GET", "/orders/v0/orders", "getOrders", orders.get_orders),
    ("GET", "/orders/v0/orders/{id}/orderItems", "getOrderItems", orders.get_order_items),
    (
        "POST",
        "/orders/v0/orders/{id}/shipmentConfirmation",
        "confirmShipment",
        orders.confirm_shipment,
    ),
]


def create_app(state: AmazonState | None = None, faults: Faults | None = None) -> FastAPI:
    """The sandbox app; ``app.state.amazon`` and ``app.state.faults`` are there for tests."""
    state = state or AmazonState()
    faults = faults or Faults()
    app = FastAPI(title="Amazon SP-API sandbox", openapi_url=None, docs_url=None, redoc_url=None)

    def operation(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return await _guarded(request, state, faults, name, handler)

        return serve

    async def token(request: Request) -> Response:
        return await _token(request, state, faults)

    async def upload(request: Request) -> Response:
        return await feeds.upload(request, state)

    async def download(request: Request) -> Response:
        return await feeds.download(request, state)

    app.add_route("/auth/o2/token", token, methods=["POST"])
    app.add_route(feeds.DOCUMENTS_PATH + "/{id}", upload, methods=["PUT"])
    app.add_route(feeds.DOCUMENTS_PATH + "/{id}", download, methods=["GET"])
    for method, path, name, handler in ROUTES:
        app.add_route(path, operation(name, handler), methods=[method])
    app.state.amazon = state
    app.state.faults = faults
    return app


async def _fault(faults: Faults) -> Response | None:
    fault = faults.draw()
    if fault == "outage":
        return errors(503, "ServiceUnavailable", "Service temporarily unavailable.")
    if fault == "error":
        status = random.choice([500, 503])
        return errors(status, "InternalFailure", "We encountered an internal error.")
    if fault == "throttle":
        return errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
    if fault == "timeout":
        await faults.stall()
    return None


async def _guarded(
    request: Request, state: AmazonState, faults: Faults, operation: str, handler: Handler
) -> Response:
    """Faults, the access token, the operation's usage plan, then the handler."""
    state.requests.append((operation, request.url.path))
    request_id = str(uuid.uuid4())
    injected = await _fault(faults)
    if injected is not None:
        injected.headers["x-amzn-RequestId"] = request_id
        return injected
    seller = state.token_seller(request.headers.get("x-amz-access-token"))
    if isinstance(seller, str):
        return errors(403, "Unauthorized", "Access to requested resource is denied.", seller)
    wanted = request.path_params.get("seller_id")
    if wanted is not None and wanted != seller.seller_id:
        return errors(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            f"The access token does not act for seller {wanted}.",
        )
    bucket, rate = state.bucket(operation)
    headers = {"x-amzn-RateLimit-Limit": f"{rate:g}", "x-amzn-RequestId": request_id}
    if bucket.take() > 0:
        return errors(
            429,
            "QuotaExceeded",
            "You exceeded your quota for the requested resource.",
            headers=headers,
        )
    try:
        response = await handler(request, state, seller)
    except MISTYPED_REQUEST as error:
        response = invalid_input(f"The request is not valid: {error}")
    response.headers.update(headers)
    return response


async def _token(request: Request, state: AmazonState, faults: Faults) -> Response:
    """Login with Amazon: ``grant_type=refresh_token`` with the app's id and secret."""
    injected = await _fault(faults)
    if injected is not None:
        return injected
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    if form.get("grant_type") != "refresh_token":
        return _lwa_error(400, "unsupported_grant_type", "Only refresh_token is supported here.")
    if form.get("client_id") != state.client_id or form.get("client_secret") != state.client_secret:
        return _lwa_error(401, "invalid_client", "Client authentication failed")
    seller = state.refresh_tokens.get(form.get("refresh_token", ""))
    if seller is None:
        return _lwa_error(400, "invalid_grant", "The request has an invalid grant parameter")
    return JSONResponse(
        {
            "access_token": state.issue_token(seller),
            "token_type": "bearer",
            "expires_in": int(state.token_lifetime),
            "refresh_token": form["refresh_token"],
        }
    )


def _lwa_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
