"""Orders API v0 in the sandbox: getOrders (created or updated since, with NextToken pages),
getOrderItems, and confirmShipment."""

from __future__ import annotations

import copy
import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.amazon.errors import csv_param, invalid_input, json_body, not_found
from channelhub.sandbox.amazon.state import AmazonState, Seller, now_iso

SHIPPABLE = ("Unshipped", "PartiallyShipped")
PACKAGE_FIELDS = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
_PRICING = ("ItemPrice", "ItemTax", "PromotionDiscount", "ShippingPrice", "ShippingTax")


def _time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filters(request: Request, seller: Seller) -> dict[str, Any] | Response:
    query = request.query_params
    marketplaces = csv_param(request, "MarketplaceIds")
    if seller.marketplace_id not in marketplaces:
        return invalid_input("MarketplaceIds is required and must name the seller's marketplace.")
    created, updated = query.get("CreatedAfter"), query.get("LastUpdatedAfter")
    if bool(created) == bool(updated):
        return invalid_input("Exactly one of CreatedAfter and LastUpdatedAfter must be specified.")
    since = _time(created or updated or "")
    if since is None:
        return invalid_input("CreatedAfter/LastUpdatedAfter must be an ISO 8601 date-time.")
    try:
        size = int(query.get("MaxResultsPerPage", "100"))
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        return invalid_input("MaxResultsPerPage must be between 1 and 100.")
    return {
        "field": "PurchaseDate" if created else "LastUpdateDate",
        "since": since,
        "channels": csv_param(request, "FulfillmentChannels"),
        "statuses": csv_param(request, "OrderStatuses"),
        "size": size,
    }


async def get_orders(request: Request, state: AmazonState, seller: Seller) -> Response:
    token = request.query_params.get("NextToken")
    if token:
        if token not in state.page_tokens:
            return invalid_input("Invalid NextToken.")
        filters, offset = state.page_tokens[token]  # a token may be used again
    else:
        found = _filters(request, seller)
        if isinstance(found, Response):
            return found
        filters, offset = found, 0
    matching = sorted(
        (
            order
            for order in state.orders.values()
            if (_time(order[filters["field"]]) or filters["since"]) >= filters["since"]
            and (not filters["channels"] or order["FulfillmentChannel"] in filters["channels"])
            and (not filters["statuses"] or order["OrderStatus"] in filters["statuses"])
        ),
        key=lambda order: (order["LastUpdateDate"], order["AmazonOrderId"]),
    )
    page = matching[offset : offset + filters["size"]]
    payload: dict[str, Any] = {"Orders": [_without_pii_for_pending(o) for o in page]}
    if offset + filters["size"] < len(matching):
        next_token = secrets.token_urlsafe(16)
        state.page_tokens[next_token] = (filters, offset + filters["size"])
        payload["NextToken"] = next_token
    key = "CreatedBefore" if filters["field"] == "PurchaseDate" else "LastUpdatedBefore"
    payload[key] = now_iso()
    return JSONResponse({"payload": payload})


def _without_pii_for_pending(order: dict[str, Any]) -> dict[str, Any]:
    """Amazon gives no address or buyer details before payment is authorized."""
    if order["OrderStatus"] not in ("Pending", "PendingAvailability"):
        return order
    return {k: v for k, v in order.items() if k not in ("ShippingAddress", "BuyerInfo")}


async def get_order_items(request: Request, state: AmazonState, seller: Seller) -> Response:
    order_id = request.path_params["id"]
    order = state.orders.get(order_id)
    if order is None:
        return not_found(f"Order {order_id} not found.")
    items = copy.deepcopy(state.order_items[order_id])
    if order["OrderStatus"] == "Pending":  # no pricing before payment is authorized
        for item in items:
            for name in _PRICING:
                item.pop(name, None)
    return JSONResponse({"payload": {"AmazonOrderId": order_id, "OrderItems": items}})


def _package_problem(body: Any, seller: Seller) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict):
        return "packageDetail is required."
    if body.get("marketplaceId") != seller.marketplace_id:
        return "marketplaceId is required and must be the order's marketplace."
    package = body["packageDetail"]
    missing = [name for name in PACKAGE_FIELDS if package.get(name) in (None, "", [])]
    if missing:
        return f"packageDetail is missing {', '.join(missing)}."
    if str(package["carrierCode"]).lower() == "other" and not package.get("carrierName"):
        return "carrierName is required when carrierCode is Other."
    if _time(str(package["shipDate"])) is None:
        return "shipDate must be an ISO 8601 date-time."
    for item in package["orderItems"]:
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            return "each of orderItems needs an orderItemId and a quantity of 1 or more."
    return None


async def confirm_shipment(request: Request, state: AmazonState, seller: Seller) -> Response:
    order_id = request.path_params["id"]
    order = state.orders.get(order_id)
    if order is None:
        return not_found(f"Order {order_id} not found.")
    body = await json_body(request)
    problem = _package_problem(body, seller)
    if problem:
        return invalid_input(problem)
    package = body["packageDetail"]
    for done in state.confirmations:
        if done["orderId"] == order_id and (
            done["packageDetail"]["packageReferenceId"] == package["packageReferenceId"]
        ):
            return Response(status_code=204)  # the same package confirmed again: no change
    if order["OrderStatus"] not in SHIPPABLE:
        return invalid_input(f"Order {order_id} is {order['OrderStatus']}: it cannot be shipped.")
    items = {item["OrderItemId"]: item for item in state.order_items[order_id]}
    for line in package["orderItems"]:
        item = items.get(str(line.get("orderItemId")))
        if item is None:
            return invalid_input(f"Order item {line.get('orderItemId')} is not in {order_id}.")
        if line["quantity"] > item["QuantityOrdered"] - item["QuantityShipped"]:
            return invalid_input(f"Order item {item['OrderItemId']} has fewer units to ship.")
    for line in package["orderItems"]:
        items[str(line["orderItemId"])]["QuantityShipped"] += line["quantity"]
    shipped = sum(item["QuantityShipped"] for item in items.values())
    ordered = sum(item["QuantityOrdered"] for item in items.values())
    order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"] = shipped, ordered - shipped
    order["OrderStatus"] = "Shipped" if shipped >= ordered else "PartiallyShipped"
    order["LastUpdateDate"] = now_iso()
    state.confirmations.append({"orderId": order_id, **body})
    return Response(status_code=204)
