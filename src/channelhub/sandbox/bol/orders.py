"""Retailer API v10 orders, shipments and cancellations in the sandbox, and the Shared API v10
process statuses that follow the 202 answers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.bol import validation
from channelhub.sandbox.bol.errors import V10, instance_of, invalid, json_body, problem
from channelhub.sandbox.bol.state import BolState, ProcessStatus, now_iso

ORDERS_PAGE_SIZE = 50


def _open_quantity(item: dict[str, Any]) -> int:
    return int(item["quantity"]) - int(item["quantityShipped"]) - int(item["quantityCancelled"])


async def list_orders(request: Request, state: BolState) -> Response:
    query = request.query_params
    status = query.get("status", "OPEN")
    method = query.get("fulfilment-method", "FBR")
    violations = []
    if status not in ("OPEN", "SHIPPED", "ALL"):
        violations.append({"name": "status", "reason": f"Invalid value '{status}'."})
    if method not in ("FBR", "FBB", "ALL"):
        violations.append({"name": "fulfilment-method", "reason": f"Invalid value '{method}'."})
    try:
        page = int(query.get("page", "1"))
    except ValueError:
        page = 0
    if page < 1:
        violations.append({"name": "page", "reason": "Must be 1 or more."})
    if violations:
        return invalid(request, violations, V10)
    state.settle_due()
    reduced = []
    for order in state.orders.values():
        items = [
            item
            for item in order["orderItems"]
            if method == "ALL" or item["fulfilment"]["method"] == method
        ]
        if status == "OPEN":
            items = [item for item in items if _open_quantity(item) > 0]
        elif status == "SHIPPED":
            items = [item for item in items if item["quantityShipped"] > 0]
        if items:
            reduced.append(_reduced(order, items))
    start = (page - 1) * ORDERS_PAGE_SIZE
    return JSONResponse({"orders": reduced[start : start + ORDERS_PAGE_SIZE]}, media_type=V10)


def _reduced(order: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "orderId": order["orderId"],
        "orderPlacedDateTime": order["orderPlacedDateTime"],
        "orderItems": [
            {
                "orderItemId": item["orderItemId"],
                "ean": item["product"]["ean"],
                "fulfilmentMethod": item["fulfilment"]["method"],
                "fulfilmentStatus": "OPEN" if _open_quantity(item) > 0 else "HANDLED",
                "quantity": item["quantity"],
                "quantityShipped": item["quantityShipped"],
                "quantityCancelled": item["quantityCancelled"],
                "cancellationRequest": item["cancellationRequest"],
                "latestChangedDateTime": item["latestChangedDateTime"],
            }
            for item in items
        ],
    }


async def get_order(request: Request, state: BolState) -> Response:
    state.settle_due()
    order = state.orders.get(request.path_params["id"])
    if order is None:
        return problem(
            404, "Not Found", "Order not found.", media_type=V10, instance=instance_of(request)
        )
    return JSONResponse(order, media_type=V10)


def _accepted(request: Request, process: ProcessStatus) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse(process.body(base), status_code=202, media_type=V10)


async def ship(request: Request, state: BolState) -> Response:
    body = await json_body(request)
    violations = validation.shipment_violations(body)
    if violations:
        return invalid(request, violations, V10)
    items = body["orderItems"]

    def resolve() -> str | None:
        found = [state.find_item(str(item["orderItemId"])) for item in items]
        for item, match in zip(items, found, strict=True):
            if match is None:
                return f"Order item {item['orderItemId']} does not exist."
        orders = {match[0]["orderId"] for match in found if match}
        if len(orders) > 1:
            return "All order items of one shipment must belong to the same order."
        for item, match in zip(items, found, strict=True):
            assert match is not None
            wanted = item.get("quantity") or _open_quantity(match[1])
            if wanted > _open_quantity(match[1]) or wanted == 0:
                return f"Order item {item['orderItemId']} has no {wanted} open to ship."
        for item, match in zip(items, found, strict=True):
            assert match is not None
            match[1]["quantityShipped"] += item.get("quantity") or _open_quantity(match[1])
            match[1]["latestChangedDateTime"] = now_iso()
        state.shipments.append({"orderId": orders.pop(), **body})
        return None

    first = str(items[0]["orderItemId"])
    process = state.start_process(
        "CREATE_SHIPMENT", first, f"Create shipment for order item {first}.", resolve
    )
    return _accepted(request, process)


async def cancel(request: Request, state: BolState) -> Response:
    body = await json_body(request)
    violations = validation.cancellation_violations(body)
    if violations:
        return invalid(request, violations, V10)
    item_id = str(body["orderItems"][0]["orderItemId"])

    def resolve() -> str | None:
        match = state.find_item(item_id)
        if match is None:
            return f"Order item {item_id} does not exist."
        item = match[1]
        if _open_quantity(item) <= 0:
            return f"Order item {item_id} is already shipped or cancelled."
        item["quantityCancelled"] = item["quantity"] - item["quantityShipped"]
        item["latestChangedDateTime"] = now_iso()
        return None

    process = state.start_process("CANCEL_ORDER", item_id, f"Cancel order item {item_id}.", resolve)
    return _accepted(request, process)


async def process_status(request: Request, state: BolState) -> Response:
    process = state.processes.get(request.path_params["id"])
    if process is None:
        return problem(
            404,
            "Not Found",
            "Process status not found.",
            media_type=V10,
            instance=instance_of(request),
        )
    base = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse(state.settle(process).body(base), media_type=V10)


async def process_statuses(request: Request, state: BolState) -> Response:
    """The processes of one entity (an order item) and event type, newest first, 50 a page."""
    query = request.query_params
    entity, event_type = query.get("entity-id"), query.get("event-type")
    violations = [
        {"name": name, "reason": "Request contains invalid value(s): 'null'."}
        for name, given in (("entity-id", entity), ("event-type", event_type))
        if not given
    ]
    try:
        page = int(query.get("page", "1"))
    except ValueError:
        page = 0
    if page < 1:
        violations.append({"name": "page", "reason": "Must be 1 or more."})
    if violations:
        return invalid(request, violations, V10)
    state.settle_due()
    base = f"{request.url.scheme}://{request.url.netloc}"
    found = [
        process.body(base)
        for process in reversed(state.processes.values())
        if process.entity_id == entity and process.event_type == event_type
    ]
    start = (page - 1) * 50
    return JSONResponse({"processStatuses": found[start : start + 50]}, media_type=V10)
