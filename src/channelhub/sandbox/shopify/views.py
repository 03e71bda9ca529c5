"""GraphQL views of the sandbox's records, shaped like the 2026-01 Admin schema's objects.

Each view is a dict keyed by schema field name; a value that is callable is a field with
arguments (``first``, ``after``, ``names``...) and is called by the executor with them, their
names in snake case. The
executor checks every value against the official schema, so a view can only ever answer
what the schema allows.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelhub.sandbox.shopify.state import (
    Address,
    Fulfillment,
    FulfillmentOrder,
    InventoryItem,
    Location,
    Order,
    OrderLine,
    Product,
    ShopifyState,
    Variant,
    iso,
)

View = dict[str, Any]


def _number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1].split("?", 1)[0])


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def money_bag(amount: Decimal, currency: str) -> View:
    value = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


# --- connections --------------------------------------------------------------------------


def encode_cursor(gid: str) -> str:
    return base64.b64encode(f"cursor:{gid}".encode()).decode()


def _decode_cursor(cursor: str) -> str | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return text.removeprefix("cursor:") if text.startswith("cursor:") else None


class InvalidCursor(ValueError):
    pass


def connection(
    items: Sequence[View],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    **_: object,
) -> View:
    """A Relay connection over ``items`` (views with an ``id``), as Shopify pages them."""
    ids = [item["id"] for item in items]
    start, end = 0, len(items)
    if after is not None:
        gid = _decode_cursor(after)
        if gid is None or gid not in ids:
            raise InvalidCursor(f"Invalid cursor for current pagination sort: {after}")
        start = ids.index(gid) + 1
    if before is not None:
        gid = _decode_cursor(before)
        if gid is None or gid not in ids:
            raise InvalidCursor(f"Invalid cursor for current pagination sort: {before}")
        end = ids.index(gid)
    if first is None and last is None:
        raise ValueError("you must provide one of first or last")
    window = list(items[start:end])
    has_next = has_previous = False
    if first is not None:
        has_next = len(window) > first or end < len(items)
        window = window[:first]
    if last is not None:
        has_previous = len(window) > last or start > 0
        window = window[-last:] if last else []
    return {
        "nodes": window,
        "edges": [{"cursor": encode_cursor(item["id"]), "node": item} for item in window],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous or start > 0,
            "startCursor": encode_cursor(window[0]["id"]) if window else None,
            "endCursor": encode_cursor(window[-1]["id"]) if window else None,
        },
    }


def paged(items: Callable[[], Sequence[View]]) -> Callable[..., View]:
    """A connection field: called by the executor with its paging arguments."""

    def resolve(info: Any, **args: Any) -> View:
        return connection(items(), **args)

    return resolve


# --- search syntax --------------------------------------------------------------------------
# Shopify's search syntax (shopify.dev/docs/api/usage/search-syntax): ``field:value`` terms,
# implicit AND between terms, ``OR`` between groups, comparators ``:<``, ``:>``, ``:<=``,
# ``:>=`` for times and numbers, values optionally quoted.

_TERM = re.compile(r"^(?P<field>[a-z_]+):(?P<op><=|>=|<|>)?(?P<value>.*)$")


def parse_search(query: str | None) -> list[list[tuple[str, str, str]]]:
    """``query`` as OR-groups of AND-ed (field, comparator, value) terms."""
    if not query or not query.strip():
        return []
    groups: list[list[tuple[str, str, str]]] = [[]]
    for token in shlex.split(query, posix=True):
        if token == "OR":
            groups.append([])
            continue
        if token == "AND":
            continue
        match = _TERM.match(token)
        if match is None:
            groups[-1].append(("default", "=", token))
        else:
            groups[-1].append((match["field"], match["op"] or "=", match["value"]))
    return [group for group in groups if group]


def _compare(actual: Any, op: str, wanted: str) -> bool:
    if actual is None:
        return False
    if isinstance(actual, datetime):
        wanted_time = datetime.fromisoformat(wanted.replace("Z", "+00:00"))
        if wanted_time.tzinfo is None:
            wanted_time = wanted_time.replace(tzinfo=actual.tzinfo)
        left, right = actual, wanted_time
        return {
            "=": left == right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[op]
    if op != "=":
        return False
    return str(actual).lower() == wanted.lower()


def matches(groups: list[list[tuple[str, str, str]]], fields: dict[str, Any]) -> bool:
    """Whether a record with searchable ``fields`` satisfies the parsed query."""
    if not groups:
        return True
    return any(
        all(
            _compare(fields.get(name), op, value)
            for name, op, value in group
            if name in fields  # Shopify ignores filters a resource does not have
        )
        for group in groups
    )


# --- objects --------------------------------------------------------------------------------


def shop_view(state: ShopifyState) -> View:
    return {
        "id": "gid://shopify/Shop/1",
        "name": state.shop_name,
        "myshopifyDomain": state.domain,
        "email": f"owner@{state.domain}",
        "contactEmail": f"owner@{state.domain}",
        "currencyCode": state.currency,
        "ianaTimezone": "Europe/Amsterdam",
        "url": f"https://{state.domain}",
        "plan": {
            "displayName": state.plan.title(),
            "publicDisplayName": state.plan.title(),
            "partnerDevelopment": False,
            "shopifyPlus": state.plan == "plus",
        },
    }


def location_view(state: ShopifyState, location: Location) -> View:
    return {
        "id": location.id,
        "legacyResourceId": str(_number(location.id)),
        "name": location.name,
        "isActive": True,
        "fulfillsOnlineOrders": True,
        "shipsInventory": True,
        "hasActiveInventory": True,
        "inventoryLevel": lambda info, inventory_item_id: _level_or_none(
            state, inventory_item_id, location.id
        ),
    }


def _level_or_none(state: ShopifyState, item_id: str, location_id: str) -> View | None:
    item = state.inventory_items.get(item_id)
    if item is None or location_id not in item.available:
        return None
    return level_view(state, item, location_id)


def level_view(state: ShopifyState, item: InventoryItem, location_id: str) -> View:
    def quantities(info: Any, names: list[str]) -> list[View]:
        found = item.available[location_id]
        # ``on_hand`` equals ``available`` here: the sandbox keeps no committed/reserved stock.
        return [
            {
                "id": f"gid://shopify/InventoryQuantity/{_number(item.id)}?name={name}",
                "name": name,
                "quantity": found if name in ("available", "on_hand") else 0,
                "updatedAt": iso(item.updated_at),
            }
            for name in names
        ]

    return {
        "id": f"gid://shopify/InventoryLevel/{_number(location_id)}?inventory_item_id="
        f"{_number(item.id)}",
        "quantities": quantities,
        "location": lambda info: location_view(state, state.locations[location_id]),
        "item": lambda info: item_view(state, item),
        "canDeactivate": True,
        "createdAt": iso(item.updated_at),
        "updatedAt": iso(item.updated_at),
    }


def item_view(state: ShopifyState, item: InventoryItem) -> View:
    return {
        "id": item.id,
        "legacyResourceId": str(_number(item.id)),
        "sku": item.sku,
        "tracked": item.tracked,
        "requiresShipping": True,
        "duplicateSkuCount": 0,
        "createdAt": iso(item.updated_at),
        "updatedAt": iso(item.updated_at),
        "inventoryLevel": lambda info, location_id: _level_or_none(state, item.id, location_id),
        "inventoryLevels": paged(
            lambda: [level_view(state, item, location) for location in item.available]
        ),
    }


def variant_view(state: ShopifyState, variant: Variant) -> View:
    product = state.products[variant.product_id]
    item = state.inventory_items[variant.inventory_item_id]
    title = " / ".join(value for _, value in variant.option_values) or "Default Title"
    return {
        "id": variant.id,
        "legacyResourceId": str(_number(variant.id)),
        "sku": variant.sku,
        "barcode": variant.barcode,
        "price": money(variant.price),
        "compareAtPrice": money(variant.compare_at_price),
        "title": title,
        "displayName": f"{product.title} - {title}",
        "position": variant.position,
        "availableForSale": product.status == "ACTIVE",
        "inventoryPolicy": "DENY",
        "inventoryQuantity": sum(item.available.values()),
        "taxable": True,
        "createdAt": iso(variant.created_at),
        "updatedAt": iso(variant.updated_at),
        "selectedOptions": [
            {
                "name": name,
                "value": value,
                "optionValue": {
                    "id": _option_value_id(product, name, value),
                    "name": value,
                    "hasVariants": True,
                },
            }
            for name, value in variant.option_values
        ],
        "product": lambda info: product_view(state, product),
        "inventoryItem": lambda info: item_view(state, item),
    }


def _option_value_id(product: Product, name: str, value: str) -> str:
    return (
        f"gid://shopify/ProductOptionValue/{_number(product.id)}{abs(hash((name, value))) % 10_000}"
    )


def product_view(state: ShopifyState, product: Product) -> View:
    def variants() -> list[View]:
        return [variant_view(state, state.variants[v]) for v in product.variant_ids]

    return {
        "id": product.id,
        "legacyResourceId": str(_number(product.id)),
        "handle": product.handle,
        "title": product.title,
        "descriptionHtml": product.description_html,
        "description": lambda info, truncate_at=None: re.sub(
            "<[^>]+>", "", product.description_html
        ),
        "vendor": product.vendor,
        "productType": product.product_type,
        "status": product.status,
        "tags": product.tags,
        "createdAt": iso(product.created_at),
        "updatedAt": iso(product.updated_at),
        "hasOnlyDefaultVariant": product.options == [("Title", ["Default Title"])],
        "totalInventory": sum(
            sum(state.inventory_items[state.variants[v].inventory_item_id].available.values())
            for v in product.variant_ids
        ),
        "tracksInventory": True,
        "options": lambda info, first=None: [
            {
                "id": f"gid://shopify/ProductOption/{_number(product.id)}{position}",
                "name": name,
                "position": position,
                "values": values,
                "optionValues": [
                    {
                        "id": _option_value_id(product, name, value),
                        "name": value,
                        "hasVariants": True,
                    }
                    for value in values
                ],
            }
            for position, (name, values) in enumerate(product.options[:first], start=1)
        ],
        "variants": paged(variants),
        "variantsCount": {"count": len(product.variant_ids), "precision": "EXACT"},
    }


def address_view(address: Address | None, gid: str) -> View | None:
    if address is None:
        return None
    return {
        "id": gid,
        "name": address.name,
        "firstName": address.first_name,
        "lastName": address.last_name,
        "address1": address.address1,
        "address2": address.address2,
        "zip": address.zip,
        "city": address.city,
        "province": address.province,
        "provinceCode": address.province_code,
        "country": address.country,
        "countryCodeV2": address.country_code,
        "phone": address.phone,
        "company": None,
        "coordinatesValidated": False,
        "formatted": lambda info, with_name=False, with_company=True: [
            part
            for part in (address.address1, f"{address.zip} {address.city}", address.country)
            if part
        ],
    }


def line_view(state: ShopifyState, order: Order, line: OrderLine) -> View:
    currency = order.currency
    unfulfilled = sum(
        fo_line.remaining_quantity
        for fo in state.fulfillment_orders.values()
        if fo.order_id == order.id
        for fo_line in fo.lines
        if fo_line.line_item_id == line.id
    )
    variant = state.variants.get(line.variant_id or "")
    return {
        "id": line.id,
        "sku": line.sku,
        "name": line.title,
        "title": line.title,
        "variantTitle": None,
        "vendor": None,
        "quantity": line.quantity,
        "currentQuantity": 0 if order.cancelled_at else line.quantity,
        "unfulfilledQuantity": unfulfilled,
        "refundableQuantity": line.quantity,
        "nonFulfillableQuantity": 0,
        "requiresShipping": True,
        "isGiftCard": False,
        "taxable": True,
        "originalUnitPriceSet": money_bag(line.unit_price, currency),
        "discountedUnitPriceSet": money_bag(
            line.unit_price - line.discount / max(line.quantity, 1), currency
        ),
        "originalTotalSet": money_bag(line.unit_price * line.quantity, currency),
        "discountedTotalSet": lambda info, with_code_discounts=None: money_bag(
            line.unit_price * line.quantity - line.discount, currency
        ),
        "totalDiscountSet": money_bag(line.discount, currency),
        "taxLines": lambda info, first=None: [
            {
                "title": "VAT",
                "rate": line.tax_rate,
                "ratePercentage": line.tax_rate * 100,
                "priceSet": money_bag(line.tax, currency),
                "channelLiable": False,
                "source": None,
            }
        ][:first],
        "variant": (lambda info: variant_view(state, variant)) if variant else None,
    }


def order_view(state: ShopifyState, order: Order) -> View:
    currency = order.currency
    subtotal = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    discounts = sum((line.discount for line in order.lines), Decimal(0))
    taxes = sum((line.tax for line in order.lines), Decimal(0))
    # With taxesIncluded the prices hold the tax already; otherwise it is added on top.
    grand_total = subtotal - discounts + (Decimal(0) if state.taxes_included else taxes)
    fulfillment_orders = [fo for fo in state.fulfillment_orders.values() if fo.order_id == order.id]
    remaining = sum(line.remaining_quantity for fo in fulfillment_orders for line in fo.lines)
    total = sum(line.quantity for line in order.lines)
    if remaining == 0:
        fulfillment_status = "FULFILLED"
    elif remaining < total:
        fulfillment_status = "PARTIALLY_FULFILLED"
    else:
        fulfillment_status = "UNFULFILLED"
    customer = order.customer
    return {
        "id": order.id,
        "legacyResourceId": str(_number(order.id)),
        "name": order.name,
        "number": order.number,
        "email": order.email,
        "phone": None,
        "note": None,
        "tags": [],
        "test": False,
        "confirmed": True,
        "closed": False,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "processedAt": iso(order.created_at),
        "cancelledAt": iso(order.cancelled_at),
        "cancelReason": order.cancel_reason,
        "currencyCode": currency,
        "presentmentCurrencyCode": currency,
        "displayFinancialStatus": order.financial_status,
        "displayFulfillmentStatus": fulfillment_status,
        "fullyPaid": order.financial_status == "PAID",
        "unpaid": order.financial_status in ("PENDING", "AUTHORIZED"),
        "taxesIncluded": state.taxes_included,
        "subtotalPriceSet": money_bag(subtotal - discounts, currency),
        "totalPriceSet": money_bag(grand_total, currency),
        "currentTotalPriceSet": money_bag(grand_total, currency),
        "totalTaxSet": money_bag(taxes, currency),
        "totalDiscountsSet": money_bag(discounts, currency),
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "displayName": " ".join(p for p in (customer.first_name, customer.last_name) if p),
            "defaultEmailAddress": {"emailAddress": customer.email} if customer.email else None,
        },
        "shippingAddress": address_view(
            order.shipping_address, f"gid://shopify/MailingAddress/{_number(order.id)}1"
        ),
        "billingAddress": address_view(
            order.billing_address, f"gid://shopify/MailingAddress/{_number(order.id)}2"
        ),
        "lineItems": paged(lambda: [line_view(state, order, line) for line in order.lines]),
        "fulfillmentOrders": lambda info, displayable=None, query=None, **args: connection(
            [fulfillment_order_view(state, fo) for fo in fulfillment_orders], **args
        ),
        "fulfillments": lambda info, first=None, query=None: [
            fulfillment_view(state, f)
            for f in state.fulfillments.values()
            if f.order_id == order.id
        ][:first],
    }


def fulfillment_order_view(state: ShopifyState, fulfillment_order: FulfillmentOrder) -> View:
    order = state.orders[fulfillment_order.order_id]
    lines_by_id = {line.id: line for line in order.lines}
    location = state.locations[fulfillment_order.location_id]
    return {
        "id": fulfillment_order.id,
        "status": fulfillment_order.status,
        "requestStatus": "UNSUBMITTED",
        "orderId": order.id,
        "orderName": order.name,
        "orderProcessedAt": iso(order.created_at),
        "createdAt": iso(fulfillment_order.created_at),
        "updatedAt": iso(fulfillment_order.updated_at),
        "supportedActions": [],
        "fulfillmentHolds": [],
        "assignedLocation": {
            "name": location.name,
            "location": location_view(state, location),
        },
        "order": lambda info: order_view(state, order),
        "lineItems": paged(
            lambda: [
                {
                    "id": line.id,
                    "totalQuantity": line.total_quantity,
                    "remainingQuantity": line.remaining_quantity,
                    "sku": lines_by_id[line.line_item_id].sku,
                    "productTitle": lines_by_id[line.line_item_id].title,
                    "requiresShipping": True,
                    "lineItem": line_view(state, order, lines_by_id[line.line_item_id]),
                }
                for line in fulfillment_order.lines
            ]
        ),
    }


def fulfillment_view(state: ShopifyState, fulfillment: Fulfillment) -> View:
    return {
        "id": fulfillment.id,
        "legacyResourceId": str(_number(fulfillment.id)),
        "name": f"{state.orders[fulfillment.order_id].name}-F{_number(fulfillment.id)}",
        "status": fulfillment.status,
        "displayStatus": "FULFILLED",
        "requiresShipping": True,
        "totalQuantity": sum(quantity for _, quantity in fulfillment.lines),
        "createdAt": iso(fulfillment.created_at),
        "updatedAt": iso(fulfillment.created_at),
        "trackingInfo": lambda info, first=None: (
            [
                {
                    "company": fulfillment.tracking_company,
                    "number": fulfillment.tracking_number,
                    "url": fulfillment.tracking_url,
                }
            ]
            if fulfillment.tracking_number or fulfillment.tracking_company
            else []
        ),
        "order": lambda info: order_view(state, state.orders[fulfillment.order_id]),
    }
