"""The Admin API handlers of the Medusa sandbox (each returns the JSON body to answer)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from channelhub.sandbox.medusa.state import MedusaError, MedusaState, invalid, not_found

PRODUCT_STATUSES = ("draft", "proposed", "published", "rejected")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise invalid("Invalid request: body is not JSON") from None
    if not isinstance(body, dict):
        raise invalid("Invalid request: Expected type: 'object' for the body")
    return body


def _page(
    request: Request, key: str, rows: list[dict[str, Any]], default: int = 50
) -> dict[str, Any]:
    try:
        limit = int(request.query_params.get("limit", default))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise invalid("Invalid request: limit and offset must be numbers") from None
    return {
        key: rows[offset : offset + limit],
        "count": len(rows),
        "offset": offset,
        "limit": limit,
    }


def _text(body: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise invalid(f"Invalid request: Field '{field}' is required")
        return None
    if not isinstance(value, str):
        raise invalid(
            f"Invalid request: Expected type: 'string' for field '{field}', got: '{value}'"
        )
    return value


# --- setup lists -----------------------------------------------------------------------------


async def list_stock_locations(request: Request, state: MedusaState) -> dict[str, Any]:
    return _page(request, "stock_locations", state.stock_locations)


async def list_sales_channels(request: Request, state: MedusaState) -> dict[str, Any]:
    return _page(request, "sales_channels", state.sales_channels)


async def list_shipping_profiles(request: Request, state: MedusaState) -> dict[str, Any]:
    kind = request.query_params.get("type")
    rows = [p for p in state.shipping_profiles if kind in (None, p["type"])]
    return _page(request, "shipping_profiles", rows)


# --- products ----------------------------------------------------------------------------------


def _product(state: MedusaState, product_id: str) -> dict[str, Any]:
    product = state.products.get(product_id)
    if product is None:
        raise not_found("Product", product_id)
    return product


def _prices(
    body: dict[str, Any], existing: list[dict[str, Any]], variant_id: str, state: MedusaState
) -> list[dict[str, Any]]:
    raw = body.get("prices")
    if not isinstance(raw, list):
        raise invalid("Invalid request: Expected type: 'array' for field 'prices'")
    by_id = {p["id"]: p for p in existing}
    prices = []
    for n, price in enumerate(raw):
        if not isinstance(price, dict):
            raise invalid(f"Invalid request: prices.{n} must be an object")
        amount, currency = price.get("amount"), price.get("currency_code")
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            raise invalid(
                f"Invalid request: Expected type: 'number' for field 'prices, {n}, amount'"
            )
        if not isinstance(currency, str) or len(currency) != 3:
            raise invalid(f"Invalid request: Field 'prices, {n}, currency_code' is required")
        price_id = price.get("id") if price.get("id") in by_id else state.new_id("price")
        prices.append(
            {
                "id": price_id,
                "currency_code": currency.lower(),
                "amount": amount,
                "min_quantity": price.get("min_quantity"),
                "max_quantity": price.get("max_quantity"),
                "rules": price.get("rules") or {},
                "variant_id": variant_id,
            }
        )
    return prices


def _new_variant(
    state: MedusaState, product: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    title = _text(body, "title", required=True)
    sku = _text(body, "sku")
    if sku is not None and state.variant_by_sku(sku) is not None:
        raise MedusaError(
            422, "duplicate_error", f"Product variant with sku: {sku}, already exists."
        )
    chosen = body.get("options") or {}
    if not isinstance(chosen, dict):
        raise invalid("Invalid request: Expected type: 'object' for field 'options'")
    values = []
    for option in product["options"]:
        value = chosen.get(option["title"])
        match = next((v for v in option["values"] if v["value"] == value), None)
        if match is None:
            raise invalid(f"Option value {value} does not exist for option {option['title']}")
        values.append({**match, "option": {"id": option["id"], "title": option["title"]}})
    if set(chosen) - {o["title"] for o in product["options"]}:
        raise invalid(f"Product options are not provided for: [{title}].")
    variant_id = state.new_id("variant")
    variant = {
        "id": variant_id,
        "title": title,
        "sku": sku,
        "ean": _text(body, "ean"),
        "manage_inventory": bool(body.get("manage_inventory", True)),
        "allow_backorder": bool(body.get("allow_backorder", False)),
        "product_id": product["id"],
        "options": values,
        "prices": _prices({"prices": body.get("prices", [])}, [], variant_id, state),
        "created_at": state.now(),
        "updated_at": state.now(),
    }
    if variant["manage_inventory"]:
        item_id = state.new_id("iitem")
        state.inventory[item_id] = {"id": item_id, "sku": sku, "location_levels": []}
    return variant


def _options(state: MedusaState, raw: Any, product_title: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise invalid(f"Product options are not provided for: [{product_title}].")
    options = []
    for option in raw:
        if not isinstance(option, dict) or not isinstance(option.get("values"), list):
            raise invalid("Invalid request: each option needs a title and values")
        option_id = state.new_id("opt")
        options.append(
            {
                "id": option_id,
                "title": _text(option, "title", required=True),
                "values": [
                    {"id": state.new_id("optval"), "value": str(v), "option_id": option_id}
                    for v in option["values"]
                ],
            }
        )
    return options


async def create_product(request: Request, state: MedusaState) -> dict[str, Any]:
    body = await _body(request)
    title = _text(body, "title", required=True) or ""
    handle = _text(body, "handle") or title.lower().replace(" ", "-")
    if any(p["handle"] == handle for p in state.products.values()):
        raise MedusaError(422, "duplicate_error", f"Product with handle: {handle}, already exists.")
    status = body.get("status", "draft")
    if status not in PRODUCT_STATUSES:
        raise invalid(f"Invalid request: Invalid enum value for field 'status', got '{status}'")
    product_id = state.new_id("prod")
    product: dict[str, Any] = {
        "id": product_id,
        "title": title,
        "handle": handle,
        "description": _text(body, "description"),
        "status": status,
        "external_id": _text(body, "external_id"),
        "thumbnail": _text(body, "thumbnail"),
        "images": body.get("images") or [],
        "sales_channels": [
            c for c in state.sales_channels if {"id": c["id"]} in (body.get("sales_channels") or [])
        ],
        "shipping_profile_id": _text(body, "shipping_profile_id"),
        "options": _options(state, body.get("options"), title),
        "variants": [],
        "created_at": state.now(),
        "updated_at": state.now(),
    }
    variants = [_new_variant(state, product, v) for v in body.get("variants") or []]
    product["variants"] = variants
    state.products[product_id] = product
    return {"product": product}


async def list_products(request: Request, state: MedusaState) -> dict[str, Any]:
    handle = request.query_params.get("handle")
    rows = [p for p in state.products.values() if handle in (None, p["handle"])]
    return _page(request, "products", rows)


async def get_product(request: Request, state: MedusaState) -> dict[str, Any]:
    return {"product": _product(state, request.path_params["id"])}


async def update_product(request: Request, state: MedusaState) -> dict[str, Any]:
    product = _product(state, request.path_params["id"])
    body = await _body(request)
    if "options" in body:
        raise invalid(
            "The 'options' property was removed in version 2.16.0. "
            "Please remove it from your request payload."
        )
    for field in ("title", "description", "status"):
        if field in body:
            if field == "status" and body[field] not in PRODUCT_STATUSES:
                raise invalid(
                    f"Invalid request: Invalid enum value for field 'status', got '{body[field]}'"
                )
            product[field] = body[field]
    product["updated_at"] = state.now()
    return {"product": product}


async def batch_options(request: Request, state: MedusaState) -> dict[str, Any]:
    product = _product(state, request.path_params["id"])
    body = await _body(request)
    for change in body.get("update") or []:
        option = next(
            (o for o in product["options"] if o["id"] == change.get("product_option_id")), None
        )
        if option is None:
            raise not_found("ProductOption", str(change.get("product_option_id")))
        for value in change.get("add") or []:
            if not isinstance(value, dict) or not isinstance(value.get("value"), str):
                raise MedusaError(
                    404,
                    "not_found",
                    f"You tried to set relationship product_option_value_id: {value}, "
                    "but such entity does not exist",
                )
            option["values"].append(
                {"id": state.new_id("optval"), "value": value["value"], "option_id": option["id"]}
            )
    product["options"] += _options(state, body["add"], product["title"]) if body.get("add") else []
    return {"product": product}


async def create_variant(request: Request, state: MedusaState) -> dict[str, Any]:
    product = _product(state, request.path_params["id"])
    variant = _new_variant(state, product, await _body(request))
    product["variants"].append(variant)
    return {"product": product}


async def update_variant(request: Request, state: MedusaState) -> dict[str, Any]:
    product = _product(state, request.path_params["id"])
    variant_id = request.path_params["variant_id"]
    variant = next((v for v in product["variants"] if v["id"] == variant_id), None)
    if variant is None:
        raise not_found("Variant", variant_id)
    body = await _body(request)
    for field in ("title", "ean"):
        if field in body:
            variant[field] = _text(body, field)
    if "prices" in body:  # Medusa replaces the variant's whole price list
        variant["prices"] = _prices(body, variant["prices"], variant_id, state)
    variant["updated_at"] = state.now()
    return {"product": product}


async def delete_variant(request: Request, state: MedusaState) -> dict[str, Any]:
    product = _product(state, request.path_params["id"])
    variant_id = request.path_params["variant_id"]
    if all(v["id"] != variant_id for v in product["variants"]):
        raise not_found("Variant", variant_id)
    product["variants"] = [v for v in product["variants"] if v["id"] != variant_id]
    return {"id": variant_id, "object": "variant", "deleted": True, "parent": product}


async def list_variants(request: Request, state: MedusaState) -> dict[str, Any]:
    q = (request.query_params.get("q") or "").lower()
    rows = [
        v
        for v in state.variants()
        if not q or q in (v.get("sku") or "").lower() or q in v["title"].lower()
    ]
    return _page(request, "variants", rows)


# --- inventory ---------------------------------------------------------------------------------


def _item(state: MedusaState, item_id: str) -> dict[str, Any]:
    item = state.inventory.get(item_id)
    if item is None:
        raise not_found("InventoryItem", item_id)
    return item


def _location(state: MedusaState, location_id: Any) -> str:
    if not isinstance(location_id, str) or not location_id:
        raise invalid("Invalid request: Field 'location_id' is required")
    if all(loc["id"] != location_id for loc in state.stock_locations):
        raise not_found("StockLocation", location_id)
    return location_id


def _quantity(body: dict[str, Any], field: str) -> int:
    value = body.get(field, 0)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid(
            f"Invalid request: Expected type: 'number' for field '{field}', got: '{value}'"
        )
    return int(value)


async def list_inventory_items(request: Request, state: MedusaState) -> dict[str, Any]:
    sku, item_id = request.query_params.get("sku"), request.query_params.get("id")
    rows = [
        i
        for i in state.inventory.values()
        if sku in (None, i["sku"]) and item_id in (None, i["id"])
    ]
    return _page(request, "inventory_items", rows, default=20)


async def create_level(request: Request, state: MedusaState) -> dict[str, Any]:
    item = _item(state, request.path_params["id"])
    body = await _body(request)
    location = _location(state, body.get("location_id"))
    if any(lvl["location_id"] == location for lvl in item["location_levels"]):
        raise MedusaError(
            422, "duplicate_error", f"Inventory level for location {location} already exists"
        )
    stocked = _quantity(body, "stocked_quantity")
    item["location_levels"].append(
        {
            "id": state.new_id("ilev"),
            "inventory_item_id": item["id"],
            "location_id": location,
            "stocked_quantity": stocked,
            "reserved_quantity": 0,
            "incoming_quantity": _quantity(body, "incoming_quantity"),
            "available_quantity": stocked,
        }
    )
    return {"inventory_item": item}


async def update_level(request: Request, state: MedusaState) -> dict[str, Any]:
    item = _item(state, request.path_params["id"])
    location = request.path_params["location_id"]
    level = next((lvl for lvl in item["location_levels"] if lvl["location_id"] == location), None)
    if level is None:
        raise not_found("Inventory level", f"{item['id']}:{location}")
    body = await _body(request)
    if "stocked_quantity" in body:
        level["stocked_quantity"] = _quantity(body, "stocked_quantity")
    level["available_quantity"] = level["stocked_quantity"] - level["reserved_quantity"]
    return {"inventory_item": item}


# --- orders ------------------------------------------------------------------------------------


def _order(state: MedusaState, order_id: str) -> dict[str, Any]:
    order = state.orders.get(order_id)
    if order is None:
        raise not_found("Order", order_id)
    return order


async def list_orders(request: Request, state: MedusaState) -> dict[str, Any]:
    params = request.query_params
    since = params.get("updated_at[$gte]")
    after = params.get("updated_at[$gt]")
    rows = [
        o
        for o in state.orders.values()
        if (since is None or o["updated_at"] >= since)
        and (after is None or o["updated_at"] > after)
    ]
    order_by = params.get("order", "-created_at")
    key = order_by.lstrip("-")
    if key not in ("created_at", "updated_at", "display_id"):
        raise invalid(f"Invalid request: cannot order by {key}")
    rows.sort(key=lambda o: (o[key], o["id"]), reverse=order_by.startswith("-"))
    return _page(request, "orders", rows, default=15)


async def get_order(request: Request, state: MedusaState) -> dict[str, Any]:
    return {"order": _order(state, request.path_params["id"])}


async def cancel_order(request: Request, state: MedusaState) -> dict[str, Any]:
    order = _order(state, request.path_params["id"])
    if any(not f.get("canceled_at") for f in order["fulfillments"]):
        raise invalid("All fulfillments must be canceled before canceling an order")
    if order["status"] != "canceled":
        for line in order["items"]:
            level = state.level(line["variant_sku"])
            if level is not None:
                level["reserved_quantity"] -= (
                    line["quantity"] - line["detail"]["fulfilled_quantity"]
                )
        order["status"] = "canceled"
        order["canceled_at"] = order["updated_at"] = state.now()
    return {"order": order}


def _order_items(
    order: dict[str, Any], body: dict[str, Any], field: str
) -> list[tuple[dict[str, Any], int]]:
    raw = body.get("items")
    if not isinstance(raw, list) or not raw:
        raise invalid("Invalid request: Field 'items' is required")
    lines = {line["id"]: line for line in order["items"]}
    chosen = []
    for item in raw:
        line = lines.get(item.get("id")) if isinstance(item, dict) else None
        if line is None:
            raise invalid(
                f"Item {item.get('id') if isinstance(item, dict) else item} not found in the order"
            )
        quantity = _quantity(item, "quantity")
        left = line["quantity"] - line["detail"][field]
        if quantity <= 0 or quantity > left:
            raise invalid(
                f"Quantity to fulfill exceeds the reserved quantity for the item: {line['id']}"
            )
        chosen.append((line, quantity))
    return chosen


async def create_fulfillment(request: Request, state: MedusaState) -> dict[str, Any]:
    order = _order(state, request.path_params["id"])
    if order["status"] == "canceled":
        raise MedusaError(400, "not_allowed", f"Order with id {order['id']} has been canceled.")
    body = await _body(request)
    location = _location(state, body.get("location_id"))
    chosen = _order_items(order, body, "fulfilled_quantity")
    for line, quantity in chosen:
        line["detail"]["fulfilled_quantity"] += quantity
        level = state.level(line["variant_sku"], location)
        if level is not None:
            level["stocked_quantity"] -= quantity
            level["reserved_quantity"] = max(0, level["reserved_quantity"] - quantity)
    order["fulfillments"].append(
        {
            "id": state.new_id("ful"),
            "location_id": location,
            "items": [{"line_item_id": line["id"], "quantity": q} for line, q in chosen],
            "labels": [],
            "created_at": state.now(),
            "shipped_at": None,
            "canceled_at": None,
        }
    )
    done = all(line["detail"]["fulfilled_quantity"] >= line["quantity"] for line in order["items"])
    order["fulfillment_status"] = "fulfilled" if done else "partially_fulfilled"
    order["updated_at"] = state.now()
    return {"order": order}


async def create_shipment(request: Request, state: MedusaState) -> dict[str, Any]:
    order = _order(state, request.path_params["id"])
    fulfillment_id = request.path_params["fulfillment_id"]
    fulfillment = next((f for f in order["fulfillments"] if f["id"] == fulfillment_id), None)
    if fulfillment is None:
        raise not_found("Fulfillment", fulfillment_id)
    body = await _body(request)
    chosen = _order_items(order, body, "shipped_quantity")
    for line, quantity in chosen:
        line["detail"]["shipped_quantity"] += quantity
    for label in body.get("labels") or []:
        if not isinstance(label, dict) or not isinstance(label.get("tracking_number"), str):
            raise invalid("Invalid request: Field 'labels, 0, tracking_number' is required")
        fulfillment["labels"].append({"id": state.new_id("fulla"), **label})
    fulfillment["shipped_at"] = state.now()
    done = all(line["detail"]["shipped_quantity"] >= line["quantity"] for line in order["items"])
    order["fulfillment_status"] = "shipped" if done else "partially_shipped"
    order["updated_at"] = state.now()
    return {"order": order}
