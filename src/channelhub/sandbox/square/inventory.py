"""Inventory API: physical counts written with ``changes/batch-create`` (absolute quantities
that apply in ``occurred_at`` order) and read back with ``counts/batch-retrieve``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from channelhub.sandbox.square.catalog import _key
from channelhub.sandbox.square.state import (
    MAX_CHANGES,
    SquareError,
    SquareState,
    now_rfc3339,
    parse_time,
)


def batch_change(state: SquareState, body: dict[str, Any]) -> dict[str, Any]:
    key = _key(body)
    seen = state.replay("inventory-changes", key, body)
    if seen is not None:
        return seen
    changes = body.get("changes") or []
    if len(changes) > MAX_CHANGES:
        raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", f"at most {MAX_CHANGES} changes", "changes")
    staged = []
    for i, change in enumerate(changes):
        where = f"changes[{i}]"
        if change.get("type") != "PHYSICAL_COUNT":
            raise SquareError(
                400, "INVALID_VALUE", "the sandbox keeps PHYSICAL_COUNT changes", f"{where}.type"
            )
        count = change.get("physical_count") or {}
        object_id = str(count.get("catalog_object_id"))
        variation = state.objects.get(str(object_id))
        if variation is None or variation["type"] != "ITEM_VARIATION":
            raise SquareError(
                400,
                "INVALID_VALUE",
                f"catalog_object_id {object_id!r} names no item variation",
                f"{where}.physical_count.catalog_object_id",
            )
        location = str(count.get("location_id"))
        if location not in state.locations:
            raise SquareError(
                400,
                "INVALID_VALUE",
                f"location_id {location!r} names no location",
                f"{where}.physical_count.location_id",
            )
        if count.get("state") != "IN_STOCK":
            raise SquareError(
                400, "INVALID_VALUE", "state must be IN_STOCK", f"{where}.physical_count.state"
            )
        try:
            quantity = Decimal(str(count.get("quantity")))
        except InvalidOperation:
            quantity = Decimal("NaN")
        if not quantity.is_finite() or quantity < 0:
            raise SquareError(
                400,
                "INVALID_VALUE",
                "quantity is a decimal string of zero or more",
                f"{where}.physical_count.quantity",
            )
        occurred = parse_time(count.get("occurred_at"), f"{where}.physical_count.occurred_at")
        staged.append((object_id, location, quantity, occurred, count))
    for object_id, location, quantity, occurred, _count in staged:
        current = state.counts.get((object_id, location))
        if current is None or occurred >= current[1]:
            state.counts[(object_id, location)] = (quantity, occurred)
    answer = {
        "changes": [
            {
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    **count,
                    "catalog_object_type": "ITEM_VARIATION",
                    "created_at": now_rfc3339(),
                },
            }
            for _o, _l, _q, _t, count in staged
        ],
        "counts": [
            _count_of(state, object_id, location)
            for object_id, location in dict.fromkeys((o, loc) for o, loc, _q, _t, _c in staged)
        ],
    }
    state.remember("inventory-changes", key, body, answer)
    return answer


def _count_of(state: SquareState, object_id: str, location: str) -> dict[str, Any]:
    quantity, _at = state.counts[(object_id, location)]
    return {
        "catalog_object_id": object_id,
        "catalog_object_type": "ITEM_VARIATION",
        "state": "IN_STOCK",
        "location_id": location,
        "quantity": str(quantity),
        "calculated_at": now_rfc3339(),
    }


def batch_counts(state: SquareState, body: dict[str, Any]) -> dict[str, Any]:
    ids = body.get("catalog_object_ids") or []
    places = body.get("location_ids") or list(state.locations)
    return {
        "counts": [
            _count_of(state, object_id, location)
            for object_id in ids
            for location in places
            if (object_id, location) in state.counts
        ]
    }
