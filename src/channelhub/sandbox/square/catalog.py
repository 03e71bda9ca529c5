"""Catalog API: batch upsert (``#temp`` ids, id mappings, versions, idempotency keys), search by
SKU with ``exact_query`` or ``set_query``, and batch retrieve."""

from __future__ import annotations

import json
from typing import Any

from channelhub.sandbox.square.state import (
    MAX_OBJECTS_PER_BATCH,
    MAX_OBJECTS_PER_UPSERT,
    MAX_SET_VALUES,
    SquareError,
    SquareState,
    new_id,
    now_rfc3339,
)


def _require(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] in (None, ""):
        raise SquareError(400, "MISSING_REQUIRED_PARAMETER", f"Field must be set: {name}", name)
    return body[name]


def _key(body: dict[str, Any]) -> str:
    key = _require(body, "idempotency_key")
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise SquareError(
            400, "VALUE_TOO_LONG", "idempotency_key is 1 to 128 characters", "idempotency_key"
        )
    return key


def batch_upsert(state: SquareState, body: dict[str, Any]) -> dict[str, Any]:
    key = _key(body)
    seen = state.replay("catalog-upsert", key, body)
    if seen is not None:
        return seen
    batches = _require(body, "batches")
    if not isinstance(batches, list) or not batches:
        raise SquareError(400, "ARRAY_EMPTY", "batches must hold at least one batch", "batches")
    total = 0
    for i, batch in enumerate(batches):
        objects = batch.get("objects") if isinstance(batch, dict) else None
        if not isinstance(objects, list) or not objects:
            where = f"batches[{i}].objects"
            raise SquareError(400, "ARRAY_EMPTY", f"{where} must hold objects", where)
        if len(objects) > MAX_OBJECTS_PER_BATCH:
            where = f"batches[{i}].objects"
            raise SquareError(
                400, "ARRAY_LENGTH_TOO_LONG", f"at most {MAX_OBJECTS_PER_BATCH} objects", where
            )
        total += len(objects)
    if total > MAX_OBJECTS_PER_UPSERT:
        raise SquareError(
            400, "ARRAY_LENGTH_TOO_LONG", f"at most {MAX_OBJECTS_PER_UPSERT} objects", "batches"
        )
    mappings: dict[str, str] = {}
    written: list[dict[str, Any]] = []
    # Check everything first: a batch is applied whole or not at all.
    staged = json.loads(json.dumps(batches))
    for i, batch in enumerate(staged):
        for j, obj in enumerate(batch["objects"]):
            _check_object(state, obj, f"batches[{i}].objects[{j}]", mappings)
    for batch in staged:
        for obj in batch["objects"]:
            written.append(_write(state, obj, mappings))
    answer = {
        "objects": [state.full_object(o) for o in written],
        "id_mappings": [
            {"client_object_id": temp, "object_id": real} for temp, real in mappings.items()
        ],
        "updated_at": now_rfc3339(),
    }
    state.remember("catalog-upsert", key, body, answer)
    return answer


def _check_object(state: SquareState, obj: Any, where: str, mappings: dict[str, str]) -> None:
    if not isinstance(obj, dict):
        raise SquareError(400, "EXPECTED_OBJECT", f"{where} must be an object", where)
    kind, obj_id = obj.get("type"), obj.get("id")
    if kind not in ("ITEM", "ITEM_VARIATION"):
        raise SquareError(
            400, "INVALID_VALUE", f"{where}.type: the sandbox keeps ITEM and ITEM_VARIATION", where
        )
    if not isinstance(obj_id, str) or not obj_id:
        raise SquareError(
            400, "MISSING_REQUIRED_PARAMETER", f"{where}.id must be set", f"{where}.id"
        )
    if obj_id.startswith("#"):
        mappings.setdefault(obj_id, new_id())
    else:
        existing = state.objects.get(obj_id)
        if existing is None:
            raise SquareError(404, "NOT_FOUND", f"object {obj_id} does not exist", f"{where}.id")
        version = obj.get("version")
        if version is not None and version != existing["version"]:
            raise SquareError(
                409,
                "CONFLICT",
                f"object {obj_id} is at version {existing['version']}, not {version}",
                f"{where}.version",
            )
    if kind == "ITEM":
        data = obj.get("item_data")
        if not isinstance(data, dict) or not str(data.get("name") or "").strip():
            raise SquareError(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "an item needs item_data.name",
                f"{where}.item_data.name",
            )
        if len(data["name"]) > 512:
            raise SquareError(
                400, "VALUE_TOO_LONG", "name is at most 512", f"{where}.item_data.name"
            )
        for k, variation in enumerate(data.get("variations") or []):
            _check_object(state, variation, f"{where}.item_data.variations[{k}]", mappings)
    else:
        data = obj.get("item_variation_data")
        if not isinstance(data, dict):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "item_variation_data must be set", where
            )
        money = data.get("price_money")
        if money is not None:
            amount, currency = money.get("amount"), money.get("currency")
            if not isinstance(amount, int) or amount < 0:
                field = f"{where}.item_variation_data.price_money.amount"
                raise SquareError(400, "EXPECTED_INTEGER", "amount is whole minor units", field)
            if currency != state.currency:
                field = f"{where}.item_variation_data.price_money.currency"
                raise SquareError(
                    400, "CURRENCY_MISMATCH", f"this seller uses {state.currency}", field
                )
        sku = data.get("sku")
        if sku is not None:
            other = state.variation_by_sku(str(sku))
            if other is not None and other["id"] != mappings.get(obj_id, obj_id):
                raise SquareError(
                    400,
                    "INVALID_VALUE",
                    f"SKU {sku} is already used by variation {other['id']}",
                    f"{where}.item_variation_data.sku",
                )


def _real(ref: str, mappings: dict[str, str]) -> str:
    return mappings.get(ref, ref)


def _write(state: SquareState, obj: dict[str, Any], mappings: dict[str, str]) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(json.dumps(obj))
    stored["id"] = _real(obj["id"], mappings)
    stored["version"] = state.next_version()
    stored["updated_at"] = now_rfc3339()
    stored.setdefault("present_at_all_locations", True)
    stored["is_deleted"] = False
    if obj["type"] == "ITEM":
        variations = stored["item_data"].pop("variations", None) or []
        state.objects[stored["id"]] = stored
        if variations:
            keep = set()
            for variation in variations:
                variation["item_variation_data"]["item_id"] = stored["id"]
                keep.add(_write(state, variation, mappings)["id"])
            # An upserted item's variations are the ones it lists; the others are deleted.
            for other in list(state.objects.values()):
                data = other.get("item_variation_data") or {}
                if data.get("item_id") == stored["id"] and other["id"] not in keep:
                    del state.objects[other["id"]]
    else:
        data = stored["item_variation_data"]
        data["item_id"] = _real(str(data.get("item_id", "")), mappings)
        if data["item_id"] not in state.objects:
            raise SquareError(400, "INVALID_VALUE", "item_id names no item", "item_id")
        state.objects[stored["id"]] = stored
    return stored


def search(state: SquareState, body: dict[str, Any]) -> dict[str, Any]:
    types = body.get("object_types") or ["ITEM", "ITEM_VARIATION"]
    query = body.get("query") or {}
    found = [o for o in state.objects.values() if o["type"] in types]
    if query.get("exact_query") is not None:
        exact = query["exact_query"]
        name, wanted = _require(exact, "attribute_name"), str(_require(exact, "attribute_value"))
        found = [o for o in found if str(_attribute(o, name)).lower() == wanted.lower()]
    elif query.get("set_query") is not None:
        values = _require(query["set_query"], "attribute_values")
        if len(values) > MAX_SET_VALUES:
            raise SquareError(
                400, "ARRAY_LENGTH_TOO_LONG", f"at most {MAX_SET_VALUES} values", "attribute_values"
            )
        name = _require(query["set_query"], "attribute_name")
        wanted_set = {str(v).lower() for v in values}
        found = [o for o in found if str(_attribute(o, name)).lower() in wanted_set]
    limit = min(int(body.get("limit") or 100), state.max_search_page)
    start = int(body.get("cursor") or 0) if str(body.get("cursor") or "0").isdigit() else -1
    if start < 0:
        raise SquareError(400, "INVALID_CURSOR", "the cursor is not valid", "cursor")
    found.sort(key=lambda o: o["id"])
    page = found[start : start + limit]
    answer: dict[str, Any] = {"objects": [state.full_object(o) for o in page]}
    if body.get("include_related_objects"):
        items = {o["item_variation_data"]["item_id"] for o in page if o["type"] == "ITEM_VARIATION"}
        answer["related_objects"] = [state.full_object(state.objects[i]) for i in sorted(items)]
    if start + limit < len(found):
        answer["cursor"] = str(start + limit)
    return answer


def _attribute(obj: dict[str, Any], name: str) -> Any:
    data = obj.get("item_variation_data") or obj.get("item_data") or {}
    return data.get(name, "")


def batch_retrieve(state: SquareState, body: dict[str, Any]) -> dict[str, Any]:
    ids = _require(body, "object_ids")
    if not isinstance(ids, list) or not ids:
        raise SquareError(400, "ARRAY_EMPTY", "object_ids must not be empty", "object_ids")
    found = [state.full_object(state.objects[i]) for i in ids if i in state.objects]
    answer: dict[str, Any] = {"objects": found}
    if body.get("include_related_objects"):
        items = {
            o["item_variation_data"]["item_id"] for o in found if o["type"] == "ITEM_VARIATION"
        }
        answer["related_objects"] = [state.full_object(state.objects[i]) for i in sorted(items)]
    return answer
