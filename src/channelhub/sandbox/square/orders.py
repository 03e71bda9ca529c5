"""Orders API: ``/v2/orders/search`` over locations, with a state and a date-time filter, the
sort that must use the filtered time field, a page limit and an opaque cursor."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from channelhub.sandbox.square.state import (
    MAX_ORDER_LOCATIONS,
    SquareError,
    SquareState,
    parse_time,
)

_FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "CLOSED_AT": "closed_at"}


def search(state: SquareState, body: dict[str, Any]) -> dict[str, Any]:
    places = body.get("location_ids")
    if not isinstance(places, list) or not places:
        raise SquareError(
            400, "MISSING_REQUIRED_PARAMETER", "location_ids must name a location", "location_ids"
        )
    if len(places) > MAX_ORDER_LOCATIONS:
        raise SquareError(
            400, "ARRAY_LENGTH_TOO_LONG", f"at most {MAX_ORDER_LOCATIONS}", "location_ids"
        )
    for place in places:
        if place not in state.locations:
            raise SquareError(400, "NOT_FOUND", f"location {place} does not exist", "location_ids")
    query = body.get("query") or {}
    where = query.get("filter") or {}
    sort = query.get("sort") or {"sort_field": "CREATED_AT", "sort_order": "ASC"}
    sort_field = _FIELDS.get(str(sort.get("sort_field")))
    if sort_field is None:
        raise SquareError(400, "INVALID_ENUM_VALUE", "unknown sort_field", "query.sort.sort_field")
    found = [o for o in state.orders.values() if o["location_id"] in places]
    states = (where.get("state_filter") or {}).get("states")
    if states:
        found = [o for o in found if o["state"] in states]
    for name, ranges in (where.get("date_time_filter") or {}).items():
        if name not in _FIELDS.values():
            raise SquareError(400, "INVALID_VALUE", f"unknown time filter {name}", name)
        if name != sort_field:
            raise SquareError(
                400,
                "INVALID_VALUE",
                f"a date_time_filter on {name} needs sort_field {name.upper()}",
                "query.sort.sort_field",
            )
        found = [o for o in found if _within(o.get(name), ranges, name)]
    descending = sort.get("sort_order") == "DESC"
    found.sort(key=lambda o: (o.get(sort_field) or "", o["id"]), reverse=descending)
    limit = body.get("limit") or 500
    if not isinstance(limit, int) or limit < 1:
        raise SquareError(400, "INVALID_VALUE", "limit is 1 or more", "limit")
    limit = min(limit, state.max_order_page)
    start = _decode_cursor(body.get("cursor"), body)
    page = found[start : start + limit]
    answer: dict[str, Any] = {"orders": page}
    if start + limit < len(found):
        answer["cursor"] = _encode_cursor(start + limit, body)
    return answer


def _within(value: str | None, ranges: dict[str, Any], name: str) -> bool:
    if value is None:
        return False
    moment = parse_time(value, name)
    start = ranges.get("start_at")
    end = ranges.get("end_at")
    if start is not None and moment < parse_time(start, f"{name}.start_at"):
        return False
    return not (end is not None and moment > parse_time(end, f"{name}.end_at"))


def _query_digest(body: dict[str, Any]) -> str:
    same = {k: v for k, v in body.items() if k not in ("cursor", "limit")}
    return hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()[:16]


def _encode_cursor(offset: int, body: dict[str, Any]) -> str:
    raw = json.dumps({"o": offset, "q": _query_digest(body)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: object, body: dict[str, Any]) -> int:
    if cursor in (None, ""):
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
        offset, digest = int(data["o"]), str(data["q"])
    except (ValueError, KeyError, TypeError):
        raise SquareError(400, "INVALID_CURSOR", "the cursor is not valid", "cursor") from None
    if digest != _query_digest(body):
        raise SquareError(
            400, "INVALID_CURSOR", "a cursor continues only the query that made it", "cursor"
        )
    return offset
