"""The queries and mutations the sandbox answers, each following its 2026-01 description.

Everything else in the schema validates (it is the official SDL) but resolves to nothing:
a document asking for an unimplemented root field gets a GraphQL error naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, VariableNode

from channelhub.sandbox.shopify import views
from channelhub.sandbox.shopify.state import (
    Fulfillment,
    InventoryItem,
    Product,
    ShopifyState,
    Variant,
    iso,
    now,
)

View = dict[str, Any]
Info = GraphQLResolveInfo[Any]

# The reasons ``inventorySetQuantities`` accepts (shopify.dev, "Inventory states", 2026-01).
INVENTORY_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)


def user_error(message: str, field: list[str] | None = None, code: str | None = None) -> View:
    error: View = {"message": message, "field": field}
    if code is not None:
        error["code"] = code
    return error


def _handle(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"


def query_root(state: ShopifyState) -> View:
    def orders(
        info: Info,
        query: str | None = None,
        sort_key: str = "ID",
        reverse: bool = False,
        **args: Any,
    ) -> View:
        groups = views.parse_search(query)
        found = [
            o
            for o in state.orders.values()
            if views.matches(
                groups,
                {
                    "updated_at": o.updated_at,
                    "created_at": o.created_at,
                    "id": str(views._number(o.id)),
                    "name": o.name,
                    "email": o.email,
                    "status": "cancelled" if o.cancelled_at else "open",
                },
            )
        ]
        key = {
            "UPDATED_AT": lambda o: (o.updated_at, views._number(o.id)),
            "CREATED_AT": lambda o: (o.created_at, views._number(o.id)),
            "PROCESSED_AT": lambda o: (o.created_at, views._number(o.id)),
        }.get(sort_key, lambda o: (views._number(o.id),))
        found.sort(key=key, reverse=reverse)
        return views.connection([views.order_view(state, o) for o in found], **args)

    def product_variants(info: Info, query: str | None = None, **args: Any) -> View:
        groups = views.parse_search(query)
        found = [
            v
            for v in state.variants.values()
            if views.matches(
                groups,
                {
                    "sku": v.sku,
                    "id": str(views._number(v.id)),
                    "product_id": str(views._number(v.product_id)),
                    "barcode": v.barcode,
                    "updated_at": v.updated_at,
                },
            )
        ]
        return views.connection([views.variant_view(state, v) for v in found], **args)

    def products(info: Info, query: str | None = None, **args: Any) -> View:
        groups = views.parse_search(query)
        found = [
            p
            for p in state.products.values()
            if views.matches(groups, {"handle": p.handle, "title": p.title, "status": p.status})
        ]
        return views.connection([views.product_view(state, p) for p in found], **args)

    def by_id(table: dict[str, Any], view: Any) -> Any:
        return lambda info, id: view(state, table[id]) if id in table else None

    return {
        "shop": lambda info: views.shop_view(state),
        "locations": lambda info, **args: views.connection(
            [views.location_view(state, loc) for loc in state.locations.values()],
            **{k: v for k, v in args.items() if k in ("first", "after", "last", "before")},
        ),
        "location": lambda info, id=None: (
            views.location_view(state, state.locations[id or state.primary_location_id])
            if (id or state.primary_location_id) in state.locations
            else None
        ),
        "orders": orders,
        "order": by_id(state.orders, views.order_view),
        "productVariants": product_variants,
        "productVariant": by_id(state.variants, views.variant_view),
        "products": products,
        "product": by_id(state.products, views.product_view),
        "inventoryItem": by_id(state.inventory_items, views.item_view),
        "fulfillmentOrder": by_id(state.fulfillment_orders, views.fulfillment_order_view),
    }


def mutation_root(state: ShopifyState) -> View:
    return {
        "productSet": lambda info, **args: product_set(state, **args),
        "inventorySetQuantities": lambda info, input: inventory_set_quantities(
            state, input, _idempotency_key(info)
        ),
        "productVariantsBulkUpdate": lambda info, **args: variants_bulk_update(state, **args),
        "fulfillmentCreate": lambda info, fulfillment, message=None: fulfillment_create(
            state, fulfillment
        ),
    }


def _idempotency_key(info: Info) -> str | None:
    """The ``@idempotent(key:)`` on the mutation field, if any."""
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value != "idempotent":
            continue
        for argument in directive.arguments or ():
            if argument.name.value != "key":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                # graphql-core 3.3 wraps the coerced values; 3.2 passes the dict itself.
                given: Any = info.variable_values
                key = getattr(given, "coerced", given).get(value.name.value)
            else:
                key = getattr(value, "value", None)
            if not isinstance(key, str) or not key.strip():
                raise GraphQLError("The idempotency key cannot be an empty string.")
            return key
    return None


# --- productSet ----------------------------------------------------------------------------


def product_set(
    state: ShopifyState,
    input: View,
    identifier: View | None = None,
    synchronous: bool = True,
) -> View:
    """productSet (2026-01): create or update a product to exactly the given state; list
    fields such as ``variants`` replace what was there."""
    product = _find_product(state, identifier or {}, input)
    if identifier and identifier.get("id") and product is None:
        return {
            "product": None,
            "productSetOperation": None,
            "userErrors": [
                user_error("Product does not exist", ["identifier", "id"], "PRODUCT_DOES_NOT_EXIST")
            ],
        }
    errors = _check_product_input(input, creating=product is None)
    if errors:
        return {"product": None, "productSetOperation": None, "userErrors": errors}
    if product is None:
        handle = (identifier or {}).get("handle") or input.get("handle") or _handle(input["title"])
        product = Product(id=state.new_id("Product"), handle=handle, title=input["title"])
        state.products[product.id] = product
    for key, attribute in (
        ("title", "title"),
        ("descriptionHtml", "description_html"),
        ("vendor", "vendor"),
        ("productType", "product_type"),
        ("status", "status"),
        ("tags", "tags"),
        ("handle", "handle"),
    ):
        if input.get(key) is not None:
            setattr(product, attribute, input[key])
    if "files" in input:
        product.images = [
            f["originalSource"] for f in input["files"] or [] if f.get("originalSource")
        ]
    if "productOptions" in input:
        product.options = [
            (option["name"], [value["name"] for value in option.get("values") or []])
            for option in input["productOptions"] or []
        ]
    if "variants" in input:
        _set_variants(state, product, input["variants"] or [])
    product.updated_at = now()
    payload: View = {
        "product": views.product_view(state, product),
        "productSetOperation": None,
        "userErrors": [],
    }
    if not synchronous:
        payload["product"] = None
        payload["productSetOperation"] = {
            "id": state.new_id("ProductSetOperation"),
            "status": "COMPLETE",
            "product": views.product_view(state, product),
            "userErrors": [],
        }
    return payload


def _find_product(state: ShopifyState, identifier: View, input: View) -> Product | None:
    if identifier.get("id"):
        return state.products.get(identifier["id"])
    handle = identifier.get("handle")
    if handle:
        return next((p for p in state.products.values() if p.handle == handle), None)
    return None


def _check_product_input(input: View, *, creating: bool) -> list[View]:
    errors: list[View] = []
    if creating and not input.get("title"):
        errors.append(user_error("Title can't be blank", ["input", "title"], "INVALID_PRODUCT"))
    options = {
        option["name"]: {value["name"] for value in option.get("values") or []}
        for option in input.get("productOptions") or []
    }
    variants = input.get("variants") or []
    if variants and not options:
        errors.append(
            user_error(
                "Product options input is required when updating variants.",
                ["input", "productOptions"],
                "PRODUCT_OPTIONS_INPUT_MISSING",
            )
        )
        return errors
    seen: set[tuple[tuple[str, str], ...]] = set()
    for index, variant in enumerate(variants):
        values = variant.get("optionValues") or []
        names = [value.get("optionName") for value in values]
        if sorted(n for n in names if n) != sorted(options):
            errors.append(
                user_error(
                    "The variant must have a value for every product option.",
                    ["input", "variants", str(index), "optionValues"],
                    "OPTION_VALUES_MISSING",
                )
            )
            continue
        for value in values:
            if value.get("name") not in options[value["optionName"]]:
                errors.append(
                    user_error(
                        f"Option value '{value.get('name')}' does not exist.",
                        ["input", "variants", str(index), "optionValues"],
                        "OPTION_VALUE_DOES_NOT_EXIST",
                    )
                )
        combination = tuple(sorted((v["optionName"], v.get("name") or "") for v in values))
        if combination in seen:
            errors.append(
                user_error(
                    "The variant option values must be unique.",
                    ["input", "variants", str(index)],
                    "DUPLICATED_OPTION_VALUE",
                )
            )
        seen.add(combination)
        price = variant.get("price")
        if price is not None and _decimal(price) is None:
            errors.append(
                user_error(
                    "Price is invalid",
                    ["input", "variants", str(index), "price"],
                    "INVALID_VARIANT",
                )
            )
    return errors


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _set_variants(state: ShopifyState, product: Product, wanted: list[View]) -> None:
    existing = {state.variants[v].option_values: state.variants[v] for v in product.variant_ids}
    order = [name for name, _ in product.options]
    kept: list[str] = []
    for position, spec in enumerate(wanted, start=1):
        values = {v["optionName"]: v["name"] for v in spec["optionValues"]}
        key = tuple((name, values[name]) for name in order)
        variant = state.variants.get(spec.get("id") or "") or existing.get(key)
        if variant is None:
            item = InventoryItem(id=state.new_id("InventoryItem"), sku=None)
            # New variants are stocked at the shop's primary location, at zero.
            item.available[state.primary_location_id] = 0
            state.inventory_items[item.id] = item
            variant = Variant(
                id=state.new_id("ProductVariant"),
                product_id=product.id,
                inventory_item_id=item.id,
                option_values=key,
            )
            state.variants[variant.id] = variant
        variant.option_values = key
        variant.position = position
        item_input = spec.get("inventoryItem") or {}
        sku = spec.get("sku") or item_input.get("sku")
        if sku is not None:
            variant.sku = sku
            state.inventory_items[variant.inventory_item_id].sku = sku
        if item_input.get("tracked") is not None:
            state.inventory_items[variant.inventory_item_id].tracked = item_input["tracked"]
        if spec.get("barcode") is not None:
            variant.barcode = spec["barcode"]
        if spec.get("price") is not None:
            variant.price = Decimal(str(spec["price"]))
        if "compareAtPrice" in spec:
            compare = spec["compareAtPrice"]
            variant.compare_at_price = None if compare is None else Decimal(str(compare))
        variant.updated_at = now()
        kept.append(variant.id)
    for variant_id in product.variant_ids:
        if variant_id not in kept:
            removed = state.variants.pop(variant_id)
            state.inventory_items.pop(removed.inventory_item_id, None)
    product.variant_ids = kept


# --- inventorySetQuantities -------------------------------------------------------------


def inventory_set_quantities(state: ShopifyState, input: View, key: str | None) -> View:
    """inventorySetQuantities (2026-01): absolute quantities, all or nothing, compared against
    ``changeFromQuantity`` unless that is explicitly null; an ``@idempotent`` key makes a
    repeat answer the first result without applying it again."""
    fingerprint = hashlib.sha256(
        json.dumps(input, sort_keys=True, default=str).encode()
    ).hexdigest()
    if key is not None and key in state.idempotency:
        first_fingerprint, first_payload = state.idempotency[key]
        if first_fingerprint != fingerprint:
            return _inventory_errors(
                [
                    user_error(
                        "The same idempotency key was used with different parameters.",
                        None,
                        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                    )
                ]
            )
        return first_payload
    payload = _apply_quantities(state, input)
    if key is not None and not payload["userErrors"]:
        state.idempotency[key] = (fingerprint, payload)
    return payload


def _inventory_errors(errors: list[View]) -> View:
    return {"inventoryAdjustmentGroup": None, "userErrors": errors}


def _apply_quantities(state: ShopifyState, input: View) -> View:
    name, reason = input["name"], input["reason"]
    if name not in ("available", "on_hand"):
        return _inventory_errors(
            [
                user_error(
                    "The quantity name must be either 'available' or 'on_hand'.",
                    ["input", "name"],
                    "INVALID_NAME",
                )
            ]
        )
    if reason not in INVENTORY_REASONS:
        return _inventory_errors(
            [user_error("The specified reason is invalid.", ["input", "reason"], "INVALID_REASON")]
        )
    errors: list[View] = []
    pairs: set[tuple[str, str]] = set()
    ignore_compare = bool(input.get("ignoreCompareQuantity"))
    for index, quantity in enumerate(input["quantities"]):
        where = ["input", "quantities", str(index)]
        item = state.inventory_items.get(quantity["inventoryItemId"])
        location_id = quantity["locationId"]
        if item is None:
            errors.append(
                user_error(
                    "The specified inventory item could not be found.",
                    [*where, "inventoryItemId"],
                    "INVALID_INVENTORY_ITEM",
                )
            )
            continue
        if location_id not in state.locations:
            errors.append(
                user_error(
                    "The specified location could not be found.",
                    [*where, "locationId"],
                    "INVALID_LOCATION",
                )
            )
            continue
        if (item.id, location_id) in pairs:
            errors.append(
                user_error(
                    "The combination of inventoryItemId and locationId must be unique.",
                    where,
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                )
            )
            continue
        pairs.add((item.id, location_id))
        if location_id not in item.available:
            errors.append(
                user_error(
                    "The specified inventory item is not stocked at the location.",
                    [*where, "locationId"],
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                )
            )
            continue
        if quantity["quantity"] > 1_000_000_000:
            errors.append(
                user_error(
                    "The quantity can't be higher than 1,000,000,000.",
                    [*where, "quantity"],
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
            continue
        current = item.available[location_id]
        if "changeFromQuantity" in quantity:
            expected = quantity["changeFromQuantity"]
            if expected is not None and expected != current:
                errors.append(
                    user_error(
                        "The specified compare quantity is stale.",
                        [*where, "changeFromQuantity"],
                        "CHANGE_FROM_QUANTITY_STALE",
                    )
                )
        elif quantity.get("compareQuantity") is not None:
            if quantity["compareQuantity"] != current:
                errors.append(
                    user_error(
                        "The specified compare quantity is stale.",
                        [*where, "compareQuantity"],
                        "COMPARE_QUANTITY_STALE",
                    )
                )
        elif not ignore_compare:
            errors.append(
                user_error(
                    "A compare quantity is required.",
                    [*where, "changeFromQuantity"],
                    "COMPARE_QUANTITY_REQUIRED",
                )
            )
    if errors:
        return _inventory_errors(errors)
    changes: list[View] = []
    for quantity in input["quantities"]:
        item = state.inventory_items[quantity["inventoryItemId"]]
        before = item.available[quantity["locationId"]]
        item.available[quantity["locationId"]] = quantity["quantity"]
        item.updated_at = now()
        changes.append(
            {"name": name, "delta": quantity["quantity"] - before, "quantityAfterChange": None}
        )
    group = {
        "id": state.new_id("InventoryAdjustmentGroup"),
        "reason": reason,
        "referenceDocumentUri": input.get("referenceDocumentUri"),
        "createdAt": iso(now()),
        "changes": lambda info, **args: changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


# --- productVariantsBulkUpdate -----------------------------------------------------------


def variants_bulk_update(
    state: ShopifyState,
    product_id: str,
    variants: list[View],
    allow_partial_updates: bool = False,
    media: Any = None,
) -> View:
    """productVariantsBulkUpdate (2026-01): update variants of one product; all or nothing
    unless ``allowPartialUpdates``."""
    product = state.products.get(product_id)
    if product is None:
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [
                user_error("Product does not exist", ["productId"], "PRODUCT_DOES_NOT_EXIST")
            ],
        }
    errors: list[View] = []
    valid: list[View] = []
    for index, spec in enumerate(variants):
        where = ["variants", str(index)]
        variant = state.variants.get(spec.get("id") or "")
        if not spec.get("id"):
            errors.append(
                user_error(
                    "Product variant is missing ID attribute",
                    [*where, "id"],
                    "PRODUCT_VARIANT_ID_MISSING",
                )
            )
        elif variant is None:
            errors.append(
                user_error(
                    "Product variant does not exist",
                    [*where, "id"],
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                )
            )
        elif variant.product_id != product_id:
            errors.append(
                user_error(
                    "Product variant does not belong to the product",
                    [*where, "id"],
                    "MUST_BE_FOR_THIS_PRODUCT",
                )
            )
        elif spec.get("price") is not None and (_decimal(spec["price"]) is None):
            errors.append(user_error("Price is invalid", [*where, "price"], "INVALID_INPUT"))
        elif spec.get("price") is not None and Decimal(str(spec["price"])) < 0:
            errors.append(
                user_error(
                    "Price must be greater than or equal to 0",
                    [*where, "price"],
                    "GREATER_THAN_OR_EQUAL_TO",
                )
            )
        else:
            valid.append(spec)
    if errors and not allow_partial_updates:
        return {"product": None, "productVariants": None, "userErrors": errors}
    updated: list[Variant] = []
    for spec in valid:
        variant = state.variants[spec["id"]]
        if spec.get("price") is not None:
            variant.price = Decimal(str(spec["price"]))
        if "compareAtPrice" in spec:
            compare = spec["compareAtPrice"]
            variant.compare_at_price = None if compare is None else Decimal(str(compare))
        if spec.get("barcode") is not None:
            variant.barcode = spec["barcode"]
        variant.updated_at = now()
        updated.append(variant)
    return {
        "product": views.product_view(state, product),
        "productVariants": [views.variant_view(state, v) for v in updated],
        "userErrors": errors,
    }


# --- fulfillmentCreate --------------------------------------------------------------------


def fulfillment_create(state: ShopifyState, fulfillment: View) -> View:
    """fulfillmentCreate (2026-01): fulfil fulfillment order line items (all remaining when
    none are listed), from fulfillment orders at one location."""
    groups = fulfillment["lineItemsByFulfillmentOrder"]
    planned: list[tuple[Any, int]] = []
    errors: list[View] = []
    locations: set[str] = set()
    for index, group in enumerate(groups):
        fulfillment_order = state.fulfillment_orders.get(group["fulfillmentOrderId"])
        where = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
        if fulfillment_order is None:
            errors.append(
                user_error("Fulfillment order does not exist.", [*where, "fulfillmentOrderId"])
            )
            continue
        if fulfillment_order.status not in ("OPEN", "IN_PROGRESS"):
            errors.append(
                user_error(
                    f"Fulfillment order {fulfillment_order.id} has an unfulfillable status= "
                    f"{fulfillment_order.status.lower()}.",
                    [*where, "fulfillmentOrderId"],
                )
            )
            continue
        locations.add(fulfillment_order.location_id)
        lines = {line.id: line for line in fulfillment_order.lines}
        wanted = group.get("fulfillmentOrderLineItems")
        if wanted is None:
            planned.extend(
                (line, line.remaining_quantity)
                for line in fulfillment_order.lines
                if line.remaining_quantity
            )
            continue
        for entry in wanted:
            line = lines.get(entry["id"])
            if line is None:
                errors.append(
                    user_error(
                        "Invalid fulfillment order line item id.",
                        [*where, "fulfillmentOrderLineItems"],
                    )
                )
            elif entry["quantity"] <= 0 or entry["quantity"] > line.remaining_quantity:
                errors.append(
                    user_error(
                        "Invalid fulfillment order line item quantity requested.",
                        [*where, "fulfillmentOrderLineItems"],
                    )
                )
            else:
                planned.append((line, entry["quantity"]))
    if len(locations) > 1:
        errors.append(
            user_error(
                "All fulfillment orders must be assigned to the same location.", ["fulfillment"]
            )
        )
    if not errors and not planned:
        errors.append(user_error("Line items must be provided.", ["fulfillment"]))
    if errors:
        return {"fulfillment": None, "userErrors": errors}
    for line, quantity in planned:
        line.remaining_quantity -= quantity
    order_id = state.fulfillment_orders[groups[0]["fulfillmentOrderId"]].order_id
    for group in groups:
        fulfillment_order = state.fulfillment_orders[group["fulfillmentOrderId"]]
        done = all(line.remaining_quantity == 0 for line in fulfillment_order.lines)
        fulfillment_order.status = "CLOSED" if done else "IN_PROGRESS"
        fulfillment_order.updated_at = now()
    tracking = fulfillment.get("trackingInfo") or {}
    created = Fulfillment(
        id=state.new_id("Fulfillment"),
        order_id=order_id,
        lines=[(line.id, quantity) for line, quantity in planned],
        tracking_company=tracking.get("company"),
        tracking_number=tracking.get("number") or next(iter(tracking.get("numbers") or []), None),
        tracking_url=tracking.get("url") or next(iter(tracking.get("urls") or []), None),
        notify_customer=bool(fulfillment.get("notifyCustomer")),
    )
    state.fulfillments[created.id] = created
    state.orders[order_id].updated_at = now()
    return {"fulfillment": views.fulfillment_view(state, created), "userErrors": []}
