"""The Magento sandbox: a FastAPI app answering the admin REST subset the hub uses, as the
2.4.9 admin schema (``shared/specs/magento/admin-schema-2.4.9.yaml``) describes it.

Served under ``/rest/{store_code}/V1``: the admin token endpoint, store configs, sources,
products (search, create, save by SKU, retrieve), MSI source items (save, search), base prices
(save, read), the order search, order retrieval, ship and cancel. Errors are the schema's
``error-response`` (``message`` with ``%name`` placeholders, ``parameters`` the schema's list of
objects; a base-price result's are by position, ``%1``, as its own schema says); list
inputs over the Web API input limit (20) and pages over 300 are refused as since 2.4.3; an
optional token bucket stands for 2.4.7's backpressure (429).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from channelhub.sandbox.faults import MISTYPED_REQUEST, Faults
from channelhub.sandbox.magento.state import MagentoState, now, stamp

PRODUCT_TYPES = frozenset(
    {"simple", "configurable", "virtual", "bundle", "grouped", "downloadable"}
)
CANCELLABLE = frozenset({"new", "pending_payment", "processing", "holded"})
_INTEGER = re.compile(r"-?[0-9]{1,18}")


class MagentoError(Exception):
    """An ``error-response``. ``parameters`` name the ``%name`` placeholders of ``message``."""

    def __init__(
        self, status: int, message: str, parameters: dict[str, Any] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = error_response(message, parameters, **extra)


def error_parameters(parameters: dict[str, Any]) -> list[dict[str, str]]:
    """The schema's ``error-parameters``: a list of objects with string values (``fieldName``,
    ``fieldValue``, ``resources``, or the message's other placeholder names), not the bare
    object or list of values some Magento versions send."""
    return [{str(name): str(value) for name, value in parameters.items()}]


def error_response(
    message: str, parameters: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """An ``error-response`` body; each of its ``errors`` is shaped the same way."""
    body: dict[str, Any] = {"message": message}
    if parameters is not None:
        body["parameters"] = error_parameters(parameters)
    if "errors" in extra:
        extra["errors"] = [
            error_response(e["message"], e.get("parameters")) for e in extra["errors"]
        ]
    return {**body, **extra}


def _required(name: str) -> MagentoError:
    return MagentoError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": name})


def _wrong_type(value: Any, expected: str) -> MagentoError:
    return MagentoError(
        400,
        'The "%value" value\'s type is invalid. '
        'The "%type" type was expected. Verify and try again.',
        {"value": str(value), "type": expected},
    )


def _list_limit(state: MagentoState, items: list[Any], type_name: str) -> None:
    if len(items) > state.input_list_limit:
        raise MagentoError(
            400,
            'Maximum items of type "%type" is %max',
            {"type": type_name, "max": state.input_list_limit},
        )


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _wrong_type(value, "float")
    try:
        return float(value)
    except ValueError:
        raise _wrong_type(value, "float") from None


def _integer(value: str) -> int:
    """A query parameter typed ``integer``: Magento's type error (400) when it is not one."""
    if not _INTEGER.fullmatch(value):
        raise _wrong_type(value, "int")
    return int(value)


# --- searchCriteria ---------------------------------------------------------------------------


def _criteria(request: Request, state: MagentoState) -> dict[str, Any]:
    """filter_groups (or filterGroups), sortOrders, pageSize and currentPage of a query."""
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sort: dict[int, dict[str, str]] = {}
    page_size: int | None = None
    current = 1
    for key, value in request.query_params.multi_items():
        parts = key.replace("]", "").split("[")
        if parts[0] != "searchCriteria" or len(parts) < 2:
            continue
        name = parts[1]
        if name in ("filter_groups", "filterGroups") and len(parts) == 6:
            field_name = {"conditionType": "condition_type"}.get(parts[5], parts[5])
            group = groups.setdefault(_integer(parts[2]), {})
            group.setdefault(_integer(parts[4]), {})[field_name] = value
        elif name in ("sortOrders", "sort_orders") and len(parts) == 4:
            sort.setdefault(_integer(parts[2]), {})[parts[3]] = value
        elif name in ("pageSize", "page_size"):
            page_size = _integer(value)
        elif name in ("currentPage", "current_page"):
            current = _integer(value)
    if page_size is not None and page_size > state.max_page_size:
        raise MagentoError(
            400, "Maximum SearchCriteria pageSize is %max", {"max": state.max_page_size}
        )
    criteria: dict[str, Any] = {
        "filter_groups": [
            {"filters": [groups[g][f] for f in sorted(groups[g])]} for g in sorted(groups)
        ],
        "sort_orders": [sort[s] for s in sorted(sort)],
        "current_page": current,
    }
    if page_size is not None:
        criteria["page_size"] = page_size
    return criteria


def _matches(item: dict[str, Any], condition: dict[str, str]) -> bool:
    field_name = condition.get("field", "")
    value = condition.get("value", "")
    kind = condition.get("condition_type", "eq")
    actual = item.get(field_name)
    text = "" if actual is None else str(actual)
    if kind == "eq":
        return text == value
    if kind == "neq":
        return text != value
    if kind == "in":
        return text in value.split(",")
    if kind == "nin":
        return text not in value.split(",")
    if kind == "like":
        return value.strip("%").lower() in text.lower()
    if kind in ("gt", "gteq", "lt", "lteq"):
        if actual is None:
            return False
        left, right = text, value
        return {
            "gt": left > right,
            "gteq": left >= right,
            "lt": left < right,
            "lteq": left <= right,
        }[kind]
    raise MagentoError(
        400,
        'Invalid condition type "%fieldValue"',
        {"fieldName": "condition_type", "fieldValue": kind},
    )


def _search(items: list[dict[str, Any]], criteria: dict[str, Any]) -> dict[str, Any]:
    for group in criteria["filter_groups"]:  # groups AND, filters inside a group OR
        items = [i for i in items if any(_matches(i, f) for f in group["filters"])]
    for order in reversed(criteria["sort_orders"]):
        field_name = order.get("field", "")
        items.sort(
            key=lambda i: (i.get(field_name) is None, str(i.get(field_name) or "")),
            reverse=order.get("direction", "ASC").upper() == "DESC",
        )
    total = len(items)
    size = criteria.get("page_size")
    if size:
        pages = max(1, math.ceil(total / size))
        page = min(criteria["current_page"], pages)  # Magento repeats the last page
        items = items[(page - 1) * size : page * size]
    return {"items": items, "search_criteria": criteria, "total_count": total}


# --- the app ----------------------------------------------------------------------------------


def create_app(state: MagentoState | None = None, faults: Faults | None = None) -> FastAPI:
    """The sandbox app; ``app.state.magento`` holds the installation."""
    state = state or MagentoState()
    if faults is not None:
        state.faults = faults
    app = FastAPI(title="Magento 2.4.9 admin REST sandbox", openapi_url=None)
    app.state.magento = state
    prefix = "/rest/{store_code}/V1"

    def handled(
        handler: Callable[[Request], Awaitable[Any]], *, public: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            fault = state.faults.draw()
            if fault == "timeout":
                await state.faults.stall()
            elif fault == "throttle":
                return JSONResponse(
                    {"message": "Too Many Requests"}, 429, headers={"Retry-After": "1"}
                )
            elif fault in ("error", "outage"):
                return JSONResponse(
                    {"message": "Service Unavailable"}, 503, headers={"Retry-After": "1"}
                )
            if state.limit is not None:
                wait = state.limit.take()
                if wait:
                    return JSONResponse(
                        {"message": "Too Many Requests"},
                        429,
                        headers={"Retry-After": str(max(1, math.ceil(wait)))},
                    )
            if not public and not _authorized(request, state):
                return JSONResponse(
                    error_response(
                        "The consumer isn't authorized to access %resources.",
                        {"resources": "Magento_Backend::admin"},
                    ),
                    401,
                )
            with state.lock:
                state.requests.append((request.method, request.url.path))
            try:
                result = await handler(request)
            except MagentoError as error:
                return JSONResponse(error.body, error.status)
            except MISTYPED_REQUEST:
                return JSONResponse(
                    error_response(
                        "The request data doesn't match the types the service expects. "
                        "Verify and try again."
                    ),
                    400,
                )
            return result if isinstance(result, Response) else JSONResponse(result)

        return run

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise MagentoError(400, "Decoding error: Syntax error") from None
        if not isinstance(body, dict):
            raise MagentoError(400, "Decoding error: Syntax error")
        return body

    async def admin_token(request: Request) -> Any:
        body = await body_of(request)
        for name in ("username", "password"):
            if not isinstance(body.get(name), str):
                raise _required(name)
        if (body["username"], body["password"]) != (state.admin_username, state.admin_password):
            raise MagentoError(
                401,
                "The account sign-in was incorrect or your account is disabled temporarily. "
                "Please wait and try again later.",
            )
        token = secrets.token_hex(16)
        with state.lock:
            state.admin_tokens.add(token)
        return token

    async def store_configs(request: Request) -> Any:
        return [
            {
                "id": 1,
                "code": "default",
                "website_id": 1,
                "locale": "en_US",
                "base_currency_code": state.currency,
                "default_display_currency_code": state.currency,
                "timezone": "UTC",
                "weight_unit": "kgs",
                "base_url": "http://magento.test/",
                "base_link_url": "http://magento.test/",
                "base_static_url": "http://magento.test/static/",
                "base_media_url": "http://magento.test/media/",
                "secure_base_url": "https://magento.test/",
                "secure_base_link_url": "https://magento.test/",
                "secure_base_static_url": "https://magento.test/static/",
                "secure_base_media_url": "https://magento.test/media/",
            }
        ]

    async def get_source(request: Request) -> Any:
        code = request.path_params["code"]
        source = state.sources.get(code)
        if source is None:
            raise MagentoError(
                404, 'Source item with code "%value" does not exist.', {"value": code}
            )
        return source

    # products ---------------------------------------------------------------------------------

    def save_product(sku: str | None, body: dict[str, Any]) -> dict[str, Any]:
        product = body.get("product")
        if not isinstance(product, dict):
            raise _required("product")
        sku = sku or product.get("sku")
        if not isinstance(sku, str) or not sku:
            raise _required("sku")
        existing = state.products.get(sku)
        if existing is None and not product.get("name"):
            raise MagentoError(
                400,
                'The "%fieldName" attribute value is empty. Set the attribute and try again.',
                {"fieldName": "name"},
            )
        type_id = product.get("type_id", (existing or {}).get("type_id", "simple"))
        if type_id not in PRODUCT_TYPES:
            raise MagentoError(
                400,
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": type_id, "fieldName": "type_id"},
            )
        for name in ("status", "visibility", "attribute_set_id"):
            if name in product and (
                not isinstance(product[name], int) or isinstance(product[name], bool)
            ):
                raise _wrong_type(product[name], "int")
        if product.get("status", 1) not in (1, 2):
            raise MagentoError(
                400,
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": product["status"], "fieldName": "status"},
            )
        if product.get("visibility", 4) not in (1, 2, 3, 4):
            raise MagentoError(
                400,
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": product["visibility"], "fieldName": "visibility"},
            )
        price = _number(product["price"]) if "price" in product else None
        custom = product.get("custom_attributes") or []
        if not isinstance(custom, list) or not all(
            isinstance(c, dict) and "attribute_code" in c and "value" in c for c in custom
        ):
            raise _required("custom_attributes.attribute_code")
        url_key = next((c["value"] for c in custom if c["attribute_code"] == "url_key"), None)
        if url_key and any(
            other_sku != sku
            and any(
                c["attribute_code"] == "url_key" and c["value"] == url_key
                for c in other.get("custom_attributes", [])
            )
            for other_sku, other in state.products.items()
        ):
            raise MagentoError(400, "URL key for specified store already exists.")
        moment = stamp(now())
        saved = existing or {
            "id": state.next_id(),
            "sku": sku,
            "attribute_set_id": 4,
            "price": 0,
            "status": 1,
            "visibility": 4,
            "type_id": "simple",
            "created_at": moment,
            "custom_attributes": [],
            "extension_attributes": {"website_ids": [1]},
        }
        for key in ("name", "type_id", "attribute_set_id", "status", "visibility", "weight"):
            if key in product:
                saved[key] = product[key]
        if price is not None:
            saved["price"] = price
            state.base_prices[(sku, 0)] = price
        merged = {c["attribute_code"]: c for c in saved.get("custom_attributes", [])}
        merged.update({c["attribute_code"]: c for c in custom})
        saved["custom_attributes"] = list(merged.values())
        if "extension_attributes" in product:
            websites = (product["extension_attributes"] or {}).get("website_ids")
            if websites is not None:
                saved["extension_attributes"] = {"website_ids": websites}
        saved["updated_at"] = moment
        state.products[sku] = saved
        return saved

    async def create_product(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            return save_product(None, body)

    async def put_product(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            return save_product(request.path_params["sku"], body)

    async def get_product(request: Request) -> Any:
        product = state.products.get(request.path_params["sku"])
        if product is None:
            raise MagentoError(
                404,
                "The product that was requested doesn't exist. Verify the product and try again.",
            )
        return product

    async def search_products(request: Request) -> Any:
        criteria = _criteria(request, state)
        with state.lock:
            return _search(list(state.products.values()), criteria)

    # inventory and prices ---------------------------------------------------------------------

    async def save_source_items(request: Request) -> Any:
        body = await body_of(request)
        items = body.get("sourceItems")
        if not isinstance(items, list):
            raise _required("sourceItems")
        _list_limit(state, items, "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface")
        errors = []
        with state.lock:
            for item in items:
                sku, code = item.get("sku"), item.get("source_code")
                if not sku:
                    errors.append(
                        {"message": '"%field" can not be empty.', "parameters": {"field": "sku"}}
                    )
                elif code not in state.sources:
                    errors.append(
                        {
                            "message": 'Source with code "%code" does not exist.',
                            "parameters": {"code": str(code)},
                        }
                    )
                elif sku not in state.products:
                    errors.append(
                        {
                            "message": 'Product with SKU "%sku" does not exist.',
                            "parameters": {"sku": sku},
                        }
                    )
                if "quantity" in item:
                    _number(item["quantity"])
                if item.get("status", 1) not in (0, 1):
                    errors.append(
                        {
                            "message": '"%field" should be numeric.',
                            "parameters": {"field": "status"},
                        }
                    )
            if errors:
                raise MagentoError(400, "Validation Failed", errors=errors)
            for item in items:
                state.source_items[(item["sku"], item["source_code"])] = {
                    "sku": item["sku"],
                    "source_code": item["source_code"],
                    "quantity": _number(item.get("quantity", 0)),
                    "status": int(item.get("status", 1)),
                }
        return []

    async def search_source_items(request: Request) -> Any:
        criteria = _criteria(request, state)
        with state.lock:
            return _search(list(state.source_items.values()), criteria)

    async def save_base_prices(request: Request) -> Any:
        body = await body_of(request)
        prices = body.get("prices")
        if not isinstance(prices, list):
            raise _required("prices")
        _list_limit(state, prices, "\\Magento\\Catalog\\Api\\Data\\BasePriceInterface")
        failures = []
        with state.lock:
            for row in prices:
                for name in ("price", "store_id", "sku"):
                    if name not in row:
                        raise _required(name)
                price = _number(row["price"])
                if row["sku"] not in state.products:
                    failures.append(
                        {
                            "message": "Requested product doesn't exist: %1",
                            "parameters": [row["sku"]],
                        }
                    )
                elif price < 0:
                    failures.append(
                        {
                            "message": "Invalid attribute %1 = %2.",
                            "parameters": ["Price", str(row["price"])],
                        }
                    )
                else:
                    state.base_prices[(row["sku"], int(row["store_id"]))] = price
                    if int(row["store_id"]) == 0:
                        state.products[row["sku"]]["price"] = price
        return failures

    async def read_base_prices(request: Request) -> Any:
        body = await body_of(request)
        skus = body.get("skus")
        if not isinstance(skus, list):
            raise _required("skus")
        with state.lock:
            return [
                {"sku": sku, "store_id": store_id, "price": price}
                for (sku, store_id), price in state.base_prices.items()
                if sku in skus
            ]

    # orders -----------------------------------------------------------------------------------

    def order_of(request: Request, name: str = "id") -> dict[str, Any]:
        try:
            order = state.orders.get(int(request.path_params[name]))
        except ValueError:
            order = None
        if order is None:
            raise MagentoError(
                404, "The entity that was requested doesn't exist. Verify the entity and try again."
            )
        return order

    async def search_orders(request: Request) -> Any:
        criteria = _criteria(request, state)
        with state.lock:
            return _search(list(state.orders.values()), criteria)

    async def get_order(request: Request) -> Any:
        with state.lock:
            return order_of(request)

    async def ship(request: Request) -> Any:
        body = await body_of(request)
        with state.lock:
            order = order_of(request, "order_id")
            by_id = {item["item_id"]: item for item in order["items"]}
            wanted = body.get("items")
            if wanted is None:  # every remaining item
                wanted = [
                    {"order_item_id": i["item_id"], "qty": i["qty_ordered"] - i["qty_shipped"]}
                    for i in order["items"]
                    if not i.get("parent_item_id")
                ]
            problems = []
            if order["state"] not in ("new", "processing"):
                problems.append("The order does not allow a shipment to be created.")
            for entry in wanted:
                item = by_id.get(entry.get("order_item_id"))
                qty = _number(entry.get("qty", 0))
                if item is None:
                    problems.append(f"The order item {entry.get('order_item_id')} does not exist.")
                elif qty > item["qty_ordered"] - item["qty_shipped"] - item["qty_canceled"]:
                    problems.append(
                        f'The quantity to ship for "{item["sku"]}" exceeds the ordered quantity.'
                    )
            if not any(_number(e.get("qty", 0)) > 0 for e in wanted):
                problems.append("You can't create a shipment without products.")
            for track in body.get("tracks") or []:
                for name in ("track_number", "title", "carrier_code"):
                    if not track.get(name):
                        raise _required(name)
            if problems:
                raise MagentoError(
                    400, "Shipment Document Validation Error(s):\n" + "\n".join(problems)
                )
            for entry in wanted:
                item = by_id[entry["order_item_id"]]
                item["qty_shipped"] += _number(entry["qty"])
                source = state.source_items.get((item["sku"], "default"))
                if source is not None:  # shipping deducts from the source (MSI)
                    source["quantity"] -= _number(entry["qty"])
                for child in order["items"]:
                    if child.get("parent_item_id") == item["item_id"]:
                        child["qty_shipped"] = item["qty_shipped"]
            shipment_id = state.next_id()
            state.shipments.append(
                {
                    "entity_id": shipment_id,
                    "order_id": order["entity_id"],
                    "items": wanted,
                    "tracks": body.get("tracks") or [],
                    "notify": bool(body.get("notify")),
                }
            )
            done = all(i["qty_shipped"] >= i["qty_ordered"] for i in order["items"])
            if done and order["total_paid"] >= order["grand_total"]:
                order["state"] = order["status"] = "complete"
            order["updated_at"] = stamp(now())
            return shipment_id

    async def cancel(request: Request) -> Any:
        with state.lock:
            order = order_of(request)
            shipped = any(i["qty_shipped"] for i in order["items"])
            if order["state"] not in CANCELLABLE or shipped:
                return False
            order["state"] = order["status"] = "canceled"
            for item in order["items"]:
                item["qty_canceled"] = item["qty_ordered"]
            order["updated_at"] = stamp(now())
            return True

    routes: list[tuple[str, str, Callable[[Request], Awaitable[Any]], bool]] = [
        ("POST", "/integration/admin/token", admin_token, True),
        ("GET", "/store/storeConfigs", store_configs, False),
        ("GET", "/inventory/sources/{code}", get_source, False),
        ("GET", "/products", search_products, False),
        ("POST", "/products", create_product, False),
        ("POST", "/products/base-prices", save_base_prices, False),
        ("POST", "/products/base-prices-information", read_base_prices, False),
        ("GET", "/products/{sku}", get_product, False),
        ("PUT", "/products/{sku}", put_product, False),
        ("GET", "/inventory/source-items", search_source_items, False),
        ("POST", "/inventory/source-items", save_source_items, False),
        ("GET", "/orders", search_orders, False),
        ("GET", "/orders/{id}", get_order, False),
        ("POST", "/orders/{id}/cancel", cancel, False),
        ("POST", "/order/{order_id}/ship", ship, False),
    ]
    for method, path, handler, public in routes:
        app.add_route(prefix + path, handled(handler, public=public), methods=[method])
    return app


def _authorized(request: Request, state: MagentoState) -> bool:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    token = header[7:].strip()
    return secrets.compare_digest(token, state.access_token) or token in state.admin_tokens
