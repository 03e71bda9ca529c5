"""The WooCommerce sandbox: a FastAPI app answering the REST API v3 subset the hub uses, as
the reference pages in ``shared/specs/woocommerce`` describe it.

Served under ``/wp-json/wc/v3``: products (list with the ``sku`` filter, which also finds
variations, create, retrieve, update, batch), product variations (list, batch), orders (list
with ``modified_after``/``orderby``/``page``/``per_page`` and the ``X-WP-Total`` and
``X-WP-TotalPages`` headers, retrieve, update) and order notes. Consumer key and secret over
HTTP Basic; errors are ``{"code", "message", "data": {"status"}}``; a batch takes at most 100
objects and reports a refused one in its place as ``{"id": 0, "error": {...}}``. WooCommerce
has no request limit of its own; the faults stand for the host's 429 and 503 answers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from channelhub.sandbox.faults import Faults
from channelhub.sandbox.woocommerce.state import WooState, gmt, now
from channelhub.sandbox.woocommerce.webhooks import send_ping

PREFIX = "/wp-json/wc/v3"
BATCH_LIMIT = 100
PRODUCT_TYPES = frozenset({"simple", "grouped", "external", "variable"})
POST_STATUSES = frozenset({"draft", "pending", "private", "publish"})
ORDER_STATUSES = frozenset(
    {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash"}
)
ORDER_ORDERBY = frozenset({"date", "id", "include", "title", "slug", "modified"})


class WooError(Exception):
    def __init__(
        self, code: str, message: str, status: int, params: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.body: dict[str, Any] = {"code": code, "message": message, "data": {"status": status}}
        if params:
            self.body["data"]["params"] = params
        self.status = status


def invalid(name: str, reason: str) -> WooError:
    return WooError("rest_invalid_param", f"Invalid parameter(s): {name}", 400, {name: reason})


# --- field validation (the property tables' types) -------------------------------------------

_STRINGS = ("name", "sku", "description", "short_description", "regular_price", "sale_price")


def _check_fields(body: Any, *, variation: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
    for name in _STRINGS:
        if name in body and not isinstance(body[name], str):
            raise invalid(name, f"{name} is not of type string.")
    for name in ("regular_price", "sale_price"):
        if body.get(name):
            try:
                Decimal(body[name])
            except InvalidOperation:
                raise invalid(name, f"{name} is not a valid price.") from None
    if "manage_stock" in body and not isinstance(body["manage_stock"], bool):
        raise invalid("manage_stock", "manage_stock is not of type boolean.")
    quantity = body.get("stock_quantity")
    if quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool)):
        raise invalid("stock_quantity", "stock_quantity is not of type integer.")
    if not variation and "type" in body and body["type"] not in PRODUCT_TYPES:
        raise invalid("type", "type is not one of simple, grouped, external, and variable.")
    if "status" in body and body["status"] not in POST_STATUSES:
        raise invalid("status", "status is not one of draft, pending, private, and publish.")
    for name in ("attributes", "images", "meta_data"):
        if name in body and not isinstance(body[name], list):
            raise invalid(name, f"{name} is not of type array.")
    return body


def _apply(item: dict[str, Any], body: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in ("id", "price", "parent_id", "date_created_gmt", "date_modified_gmt"):
            continue
        item[key] = value
    item["price"] = item.get("sale_price") or item.get("regular_price") or ""
    item["on_sale"] = bool(item.get("sale_price"))
    if item.get("manage_stock") and item.get("stock_quantity") is not None:
        item["stock_status"] = "instock" if item["stock_quantity"] > 0 else "outofstock"
    item["date_modified"] = item["date_modified_gmt"] = gmt(now())


def _sku_taken(state: WooState, sku: Any, own_id: int | None) -> bool:
    if not sku:
        return False
    found = state.by_sku(str(sku))
    return found is not None and found["id"] != own_id


def _new_product(state: WooState, body: dict[str, Any]) -> dict[str, Any]:
    _check_fields(body, variation=False)
    if _sku_taken(state, body.get("sku"), None):
        raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
    moment = gmt(now())
    item: dict[str, Any] = {
        "id": state.next_id(),
        "name": "",
        "slug": "",
        "type": "simple",
        "status": "publish",
        "description": "",
        "sku": "",
        "regular_price": "",
        "sale_price": "",
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "parent_id": 0,
        "attributes": [],
        "images": [],
        "meta_data": [],
        "variations": [],
        "date_created": moment,
        "date_created_gmt": moment,
    }
    _apply(item, body)
    item["permalink"] = f"{state.site_url}/product/{item['id']}"
    state.products[item["id"]] = item
    return item


def _update_product(state: WooState, product_id: Any, body: dict[str, Any]) -> dict[str, Any]:
    item = state.products.get(product_id) if isinstance(product_id, int) else None
    if item is None:
        raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
    _check_fields(body, variation=False)
    if "sku" in body and _sku_taken(state, body["sku"], item["id"]):
        raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
    _apply(item, body)
    return item


def _new_variation(state: WooState, parent: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    _check_fields(body, variation=True)
    if _sku_taken(state, body.get("sku"), None):
        raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
    moment = gmt(now())
    item: dict[str, Any] = {
        "id": state.next_id(),
        "type": "variation",
        "parent_id": parent["id"],
        "name": parent.get("name", ""),
        "status": "publish",
        "description": "",
        "sku": "",
        "regular_price": "",
        "sale_price": "",
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "attributes": [],
        "meta_data": [],
        "date_created": moment,
        "date_created_gmt": moment,
    }
    _apply(item, body)
    state.variations[item["id"]] = item
    parent.setdefault("variations", []).append(item["id"])
    return item


def _update_variation(
    state: WooState, parent: dict[str, Any], variation_id: Any, body: dict[str, Any]
) -> dict[str, Any]:
    item = state.variations.get(variation_id) if isinstance(variation_id, int) else None
    if item is None or item["parent_id"] != parent["id"]:
        raise WooError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400)
    _check_fields(body, variation=True)
    if "sku" in body and _sku_taken(state, body["sku"], item["id"]):
        raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
    _apply(item, body)
    return item


def _batch(
    body: Any,
    create: Callable[[dict[str, Any]], dict[str, Any]],
    update: Callable[[Any, dict[str, Any]], dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(body, dict):
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
    count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
    if count > BATCH_LIMIT:
        raise WooError(
            "rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    answer: dict[str, list[dict[str, Any]]] = {}
    for action in ("create", "update"):
        results = []
        for item in body.get(action) or []:
            try:
                if action == "create":
                    results.append(create(item))
                else:
                    fields = (
                        {k: v for k, v in item.items() if k != "id"}
                        if isinstance(item, dict)
                        else item
                    )
                    results.append(
                        update(item.get("id") if isinstance(item, dict) else None, fields)
                    )
            except WooError as error:
                results.append({"id": 0, "error": error.body})
        if action in body:
            answer[action] = results
    return answer


def _page_params(request: Request) -> tuple[int, int]:
    try:
        per_page = int(request.query_params.get("per_page", "10"))
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        raise invalid("per_page", "per_page is not of type integer.") from None
    if not 1 <= per_page <= 100:
        raise invalid("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
    if page < 1:
        raise invalid("page", "page must be greater than or equal to 1")
    return per_page, page


def _paged(request: Request, items: list[dict[str, Any]]) -> Response:
    per_page, page = _page_params(request)
    total = len(items)
    pages = math.ceil(total / per_page) if total else 0
    if page > 1 and page > pages:
        raise WooError(
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
            400,
        )
    chunk = items[(page - 1) * per_page : page * per_page]
    return JSONResponse(chunk, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})


def _time_param(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "Invalid date.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


# --- the app ----------------------------------------------------------------------------------


def create_app(state: WooState | None = None, faults: Faults | None = None) -> FastAPI:
    """The sandbox app; ``app.state.woo`` holds the store."""
    state = state or WooState()
    if faults is not None:
        state.faults = faults
    app = FastAPI(title="WooCommerce REST API v3 sandbox", openapi_url=None)
    app.state.woo = state

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        fault = state.faults.draw()
        if fault == "timeout":
            await state.faults.stall()
        elif fault == "throttle":  # the host's limit, before WordPress runs
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": "1"})
        elif fault in ("error", "outage"):
            return PlainTextResponse("Service Unavailable", 503, headers={"Retry-After": "1"})
        if not request.url.path.startswith(PREFIX):
            return JSONResponse(
                {
                    "code": "rest_no_route",
                    "message": "No route was found matching the URL and request method.",
                    "data": {"status": 404},
                },
                404,
            )
        if not _authorized(request, state):
            return JSONResponse(
                {
                    "code": "woocommerce_rest_authentication_error",
                    "message": "Consumer key is invalid.",
                    "data": {"status": 401},
                },
                401,
            )
        with state.lock:
            state.requests.append((request.method, request.url.path[len(PREFIX) :]))
        try:
            return await call_next(request)
        except WooError as error:
            return JSONResponse(error.body, error.status)

    async def body_of(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400) from None

    def handled(
        handler: Callable[[Request], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                result = await handler(request)
            except WooError as error:
                return JSONResponse(error.body, error.status)
            return result if isinstance(result, Response) else JSONResponse(result)

        return run

    # products ---------------------------------------------------------------------------------

    async def list_products(request: Request) -> Response:
        skus = request.query_params.get("sku")
        with state.lock:
            if skus:  # with a SKU filter WooCommerce searches variations too
                wanted = set(skus.split(",")) | {skus}
                items = [
                    p
                    for p in (*state.products.values(), *state.variations.values())
                    if p.get("sku") in wanted
                ]
            else:
                items = list(state.products.values())
            return _paged(request, sorted(items, key=lambda p: -p["id"]))

    async def create_product(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            return JSONResponse(_new_product(state, body), 201)

    async def get_product(request: Request) -> Any:
        item = state.products.get(int(request.path_params["id"]))
        if item is None:
            raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return item

    async def update_product(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            return _update_product(state, int(request.path_params["id"]), body)

    async def batch_products(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            return _batch(
                body,
                lambda item: _new_product(state, item),
                lambda product_id, item: _update_product(state, product_id, item),
            )

    def parent_of(request: Request) -> dict[str, Any]:
        parent = state.products.get(int(request.path_params["id"]))
        if parent is None:
            raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return parent

    async def list_variations(request: Request) -> Response:
        with state.lock:
            parent = parent_of(request)
            items = [v for v in state.variations.values() if v["parent_id"] == parent["id"]]
            return _paged(request, items)

    async def batch_variations(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            parent = parent_of(request)
            return _batch(
                body,
                lambda item: _new_variation(state, parent, item),
                lambda variation_id, item: _update_variation(state, parent, variation_id, item),
            )

    # orders -----------------------------------------------------------------------------------

    async def list_orders(request: Request) -> Response:
        query = request.query_params
        orderby = query.get("orderby", "date")
        if orderby not in ORDER_ORDERBY:
            raise invalid("orderby", "orderby is not one of date, id, include, title, and slug.")
        direction = query.get("order", "desc")
        if direction not in ("asc", "desc"):
            raise invalid("order", "order is not one of asc and desc.")
        modified_after = _time_param(request, "modified_after")
        modified_before = _time_param(request, "modified_before")
        after = _time_param(request, "after")
        statuses = set(query.get("status", "any").split(","))
        with state.lock:
            items = [
                o for o in state.orders.values() if o["status"] != "trash" or "trash" in statuses
            ]
        if "any" not in statuses:
            items = [o for o in items if o["status"] in statuses]
        if modified_after is not None:
            items = [o for o in items if _when(o["date_modified_gmt"]) > modified_after]
        if modified_before is not None:
            items = [o for o in items if _when(o["date_modified_gmt"]) < modified_before]
        if after is not None:
            items = [o for o in items if _when(o["date_created_gmt"]) > after]
        key = {
            "modified": lambda o: (o["date_modified_gmt"], o["id"]),
            "id": lambda o: (o["id"],),
        }.get(orderby, lambda o: (o["date_created_gmt"], o["id"]))
        items.sort(key=key, reverse=direction == "desc")
        return _paged(request, items)

    def order_of(request: Request) -> dict[str, Any]:
        order = state.orders.get(int(request.path_params["id"]))
        if order is None:
            raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return order

    async def get_order(request: Request) -> Any:
        return order_of(request)

    async def update_order(request: Request) -> Any:
        body = await body_of(request)
        if not isinstance(body, dict):
            raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
        if "status" in body and body["status"] not in ORDER_STATUSES:
            raise invalid(
                "status",
                "status is not one of pending, processing, on-hold, completed, cancelled, "
                "refunded, failed, and trash.",
            )
        with state.lock:
            order = order_of(request)
            changes = {
                k: v for k, v in body.items() if k in ("status", "customer_note", "meta_data")
            }
        # WooCommerce delivers order.updated from the request; the hub answers quickly.
        return await asyncio.to_thread(state.touch_order, order["id"], **changes)

    async def list_notes(request: Request) -> Any:
        with state.lock:
            return list(state.notes.get(order_of(request)["id"], []))

    async def create_note(request: Request) -> Any:
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("note"), str) or not body["note"]:
            raise WooError("rest_missing_callback_param", "Missing parameter(s): note", 400)
        with state.lock:
            order = order_of(request)
            note = {
                "id": state.next_id(),
                "author": "WooCommerce",
                "date_created": gmt(now()),
                "date_created_gmt": gmt(now()),
                "note": body["note"],
                "customer_note": bool(body.get("customer_note", False)),
            }
            state.notes.setdefault(order["id"], []).append(note)
            return JSONResponse(note, 201)

    # webhooks ---------------------------------------------------------------------------------

    def shown(hook: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in hook.items() if k not in ("secret", "failures")}

    async def list_webhooks(request: Request) -> Response:
        with state.lock:
            hooks = [shown(h) for h in state.webhooks.values()]
        return _paged(request, sorted(hooks, key=lambda h: -h["id"]))

    def webhook_fields(body: Any, hook: dict[str, Any]) -> None:
        if not isinstance(body, dict):
            raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
        if "status" in body and body["status"] not in ("active", "paused", "disabled"):
            raise invalid("status", "status is not one of active, paused, and disabled.")
        for name in ("name", "secret", "topic", "delivery_url", "status"):
            if name in body:
                if not isinstance(body[name], str):
                    raise invalid(name, f"{name} is not of type string.")
                hook[name] = body[name]
        if body.get("status") == "active":
            hook["failures"] = 0

    async def create_webhook(request: Request) -> Response:
        body = await body_of(request)
        for name in ("topic", "delivery_url"):
            if not isinstance(body, dict) or not body.get(name):
                raise WooError("rest_missing_callback_param", f"Missing parameter(s): {name}", 400)
        with state.lock:
            hook: dict[str, Any] = {
                "id": state.next_id(),
                "name": "",
                "status": "active",
                "secret": "",
                "date_created_gmt": gmt(now()),
            }
            webhook_fields(body, hook)
            hook["resource"], _, hook["event"] = hook["topic"].partition(".")
            state.webhooks[hook["id"]] = hook
        await asyncio.to_thread(_ping, hook["delivery_url"], hook["id"])
        return JSONResponse(shown(hook), 201)

    async def update_webhook(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            hook = state.webhooks.get(int(request.path_params["id"]))
            if hook is None:
                raise WooError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            webhook_fields(body, hook)
            return shown(hook)

    routes: list[tuple[str, str, Callable[[Request], Awaitable[Any]]]] = [
        ("GET", "/products", list_products),
        ("POST", "/products", create_product),
        ("POST", "/products/batch", batch_products),
        ("GET", "/products/{id:int}", get_product),
        ("PUT", "/products/{id:int}", update_product),
        ("GET", "/products/{id:int}/variations", list_variations),
        ("POST", "/products/{id:int}/variations/batch", batch_variations),
        ("GET", "/orders", list_orders),
        ("GET", "/orders/{id:int}", get_order),
        ("PUT", "/orders/{id:int}", update_order),
        ("GET", "/orders/{id:int}/notes", list_notes),
        ("POST", "/orders/{id:int}/notes", create_note),
        ("GET", "/webhooks", list_webhooks),
        ("POST", "/webhooks", create_webhook),
        ("PUT", "/webhooks/{id:int}", update_webhook),
    ]
    for method, path, handler in routes:
        app.add_route(PREFIX + path, handled(handler), methods=[method])
    return app


def _ping(url: str, webhook_id: int) -> None:
    """The ping WooCommerce sends when a webhook is saved (its outcome is not kept here)."""
    with contextlib.suppress(httpx.HTTPError):
        send_ping(url, webhook_id)


def _authorized(request: Request, state: WooState) -> bool:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        key, _, secret = decoded.partition(":")
    else:  # WooCommerce also reads the pair from the query string (servers that strip headers)
        key = request.query_params.get("consumer_key", "")
        secret = request.query_params.get("consumer_secret", "")
    return key == state.consumer_key and secret == state.consumer_secret
