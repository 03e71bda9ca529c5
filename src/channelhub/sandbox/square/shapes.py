"""The JSON types of the request bodies the sandbox serves, as Square's API reference types them,
and the check Square runs before any handler: a field of the wrong type is a 400
INVALID_REQUEST_ERROR with ``EXPECTED_STRING`` (``_INTEGER``, ``_BOOLEAN``, ``_ARRAY``,
``_OBJECT``) naming the field, never a server error.

A shape is ``"string"``, ``"integer"``, ``"boolean"``, ``"object"`` (any object), a one-element
list (an array of that shape) or a dict (an object with those fields; others are not checked).
A JSON ``null`` is taken as an absent field.
"""

from __future__ import annotations

from typing import Any

from channelhub.sandbox.square.state import SquareError

Shape = str | list[Any] | dict[str, Any]

STRING, INTEGER, BOOLEAN, OBJECT = "string", "integer", "boolean", "object"

_PHYSICAL_COUNT = dict.fromkeys(
    (
        "id",
        "reference_id",
        "catalog_object_id",
        "catalog_object_type",
        "state",
        "location_id",
        "quantity",
        "employee_id",
        "team_member_id",
        "occurred_at",
        "created_at",
    ),
    STRING,
)
_ADJUSTMENT = dict.fromkeys(
    (
        "id",
        "reference_id",
        "from_state",
        "to_state",
        "location_id",
        "catalog_object_id",
        "catalog_object_type",
        "quantity",
        "occurred_at",
        "created_at",
        "employee_id",
        "team_member_id",
    ),
    STRING,
)
_ATTRIBUTE = {"attribute_name": STRING}

#: The request body of each POST route, by path.
BODIES: dict[str, dict[str, Shape]] = {
    "/v2/catalog/batch-upsert": {"idempotency_key": STRING, "batches": [{"objects": [OBJECT]}]},
    "/v2/catalog/search": {
        "cursor": STRING,
        "object_types": [STRING],
        "include_deleted_objects": BOOLEAN,
        "include_related_objects": BOOLEAN,
        "begin_time": STRING,
        "query": {
            "exact_query": {**_ATTRIBUTE, "attribute_value": STRING},
            "set_query": {**_ATTRIBUTE, "attribute_values": [STRING]},
            "prefix_query": {**_ATTRIBUTE, "attribute_prefix": STRING},
            "range_query": {
                **_ATTRIBUTE,
                "attribute_min_value": INTEGER,
                "attribute_max_value": INTEGER,
            },
            "sorted_attribute_query": {**_ATTRIBUTE, "initial_attribute_value": STRING},
            "text_query": {"keywords": [STRING]},
        },
        "limit": INTEGER,
        "include_category_path_to_root": BOOLEAN,
    },
    "/v2/catalog/batch-retrieve": {
        "object_ids": [STRING],
        "include_related_objects": BOOLEAN,
        "catalog_version": INTEGER,
        "include_deleted_objects": BOOLEAN,
        "include_category_path_to_root": BOOLEAN,
    },
    "/v2/inventory/changes/batch-create": {
        "idempotency_key": STRING,
        "changes": [
            {
                "type": STRING,
                "physical_count": _PHYSICAL_COUNT,
                "adjustment": _ADJUSTMENT,
                "transfer": OBJECT,
                "measurement_unit_id": STRING,
            }
        ],
        "ignore_unchanged_counts": BOOLEAN,
    },
    "/v2/inventory/counts/batch-retrieve": {
        "catalog_object_ids": [STRING],
        "location_ids": [STRING],
        "updated_after": STRING,
        "cursor": STRING,
        "states": [STRING],
        "limit": INTEGER,
    },
    "/v2/orders/search": {
        "location_ids": [STRING],
        "cursor": STRING,
        "query": {
            "filter": {
                "state_filter": {"states": [STRING]},
                "date_time_filter": {
                    name: {"start_at": STRING, "end_at": STRING}
                    for name in ("created_at", "updated_at", "closed_at")
                },
                "customer_filter": {"customer_ids": [STRING]},
                "source_filter": {"source_names": [STRING]},
                "fulfillment_filter": OBJECT,
            },
            "sort": {"sort_field": STRING, "sort_order": STRING},
        },
        "limit": INTEGER,
        "return_entries": BOOLEAN,
    },
}

_CODES = {
    STRING: "EXPECTED_STRING",
    INTEGER: "EXPECTED_INTEGER",
    BOOLEAN: "EXPECTED_BOOLEAN",
    OBJECT: "EXPECTED_OBJECT",
}
_NAMES = {STRING: "a string", INTEGER: "an integer", BOOLEAN: "a boolean", OBJECT: "an object"}


def check_body(path: str, body: dict[str, Any]) -> None:
    """Raise Square's 400 for the first field of ``body`` whose type is wrong."""
    shape = BODIES.get(path)
    if shape is not None:
        _check_fields(shape, body, "")


def _check_fields(shape: dict[str, Shape], value: dict[str, Any], where: str) -> None:
    for name, field_shape in shape.items():
        if value.get(name) is not None:
            _check(field_shape, value[name], f"{where}.{name}" if where else name)


def _check(shape: Shape, value: Any, where: str) -> None:
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise SquareError(400, "EXPECTED_ARRAY", f"Expected an array for {where}.", where)
        for i, item in enumerate(value):
            if item is None:
                raise SquareError(400, "INVALID_VALUE", f"{where}[{i}] must not be null.", where)
            _check(shape[0], item, f"{where}[{i}]")
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            raise SquareError(400, "EXPECTED_OBJECT", f"Expected an object for {where}.", where)
        _check_fields(shape, value, where)
    elif not _is(shape, value):
        raise SquareError(400, _CODES[shape], f"Expected {_NAMES[shape]} for {where}.", where)


def _is(kind: str, value: Any) -> bool:
    if kind == STRING:
        return isinstance(value, str)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    return isinstance(value, dict)
