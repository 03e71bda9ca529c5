"""Contract tests: what the connector sends and what the sandbox answers, checked against
Square's published OpenAPI document (``shared/specs/square/api.json``, Square-Version
2025-08-20) with jsonschema, plus a strict pass that refuses any field the schema does not
name (Square's schemas leave ``additionalProperties`` open, which would let a misspelled field
through)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from channelhub.connectors.base import ChannelPrice, Listing, PermanentError, StockLevel
from channelhub.connectors.square import SquareConnector
from channelhub.sandbox.contracts import load_contract_json
from channelhub.sandbox.square import SquareState, create_app

from .conftest import config_for, run

URI = "urn:square-api"


@cache
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = load_contract_json("square", "api.json")
    return data


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(URI, Resource(contents=_spec(), specification=DRAFT4))


def _schemas(path: str, method: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    operation = _spec()["paths"][path][method.lower()]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    answer = operation["responses"]["200"]["content"]["application/json"]
    return body.get("schema"), answer["schema"]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = _spec()["components"]["schemas"][name]
    return schema


def _validate(schema: dict[str, Any], instance: Any, where: str) -> None:
    ref = {"$ref": URI + schema["$ref"]}
    errors = sorted(
        Draft4Validator(ref, registry=_registry()).iter_errors(instance), key=lambda e: e.path
    )
    assert not errors, f"{where}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    unknown = list(_unknown_fields(schema, instance, "$"))
    assert not unknown, f"{where}: fields the contract does not name: {unknown}"


def _unknown_fields(schema: dict[str, Any], instance: Any, at: str) -> Iterator[str]:
    schema = _resolve(schema)
    if isinstance(instance, dict) and "properties" in schema:
        for key, value in instance.items():
            if key not in schema["properties"]:
                yield f"{at}.{key}"
            else:
                yield from _unknown_fields(schema["properties"][key], value, f"{at}.{key}")
    elif isinstance(instance, list) and "items" in schema:
        for i, value in enumerate(instance):
            yield from _unknown_fields(schema["items"], value, f"{at}[{i}]")


def _recording_connector(state: SquareState) -> tuple[SquareConnector, list[httpx.Response]]:
    seen: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        seen.append(response)

    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)),
        timeout=5,
        event_hooks={"response": [keep]},
    )
    return SquareConnector(config_for(state), http), seen


def test_every_request_and_answer_follows_the_square_contract(state: SquareState) -> None:
    square, seen = _recording_connector(state)
    price = ChannelPrice("MUG-1", Decimal("12.95"), "EUR")
    run(square.test_connection())
    run(square.push_listings([Listing("MUG-1", "Mug", "A mug", gtin="8712345678906", price=price)]))
    run(square.push_listings([Listing("MUG-1", "Stoneware mug", price=price)]))
    run(square.push_prices([ChannelPrice("MUG-1", Decimal("11.00"), "EUR")]))
    run(square.push_stock([StockLevel("MUG-1", 5)]))
    run(square.read_stock(["MUG-1"]))
    state.create_order([("MUG-1", 2)], customer_id="CUST1")
    fresh, more = _recording_connector(state)  # no memory: it must look the SKU up
    run(fresh.fetch_orders(None))
    checked = set()
    for response in [*seen, *more]:
        request = response.request
        path = request.url.path
        assert response.status_code == 200, (path, response.text)
        assert request.headers["Square-Version"] == "2025-08-20"
        asks, answers = _schemas(path, request.method)
        if asks is not None:
            _validate(asks, json.loads(request.content), f"request {request.method} {path}")
        _validate(answers, response.json(), f"answer {request.method} {path}")
        checked.add(f"{request.method} {path}")
    assert checked == {
        "GET /v2/locations",
        "POST /v2/catalog/search",
        "POST /v2/catalog/batch-upsert",
        "POST /v2/catalog/batch-retrieve",
        "POST /v2/inventory/changes/batch-create",
        "POST /v2/inventory/counts/batch-retrieve",
        "POST /v2/orders/search",
    }


def test_sandbox_errors_follow_the_square_error_schema(state: SquareState) -> None:
    square, seen = _recording_connector(state)
    with pytest.raises(PermanentError, match="CURRENCY_MISMATCH"):
        run(square.push_listings([Listing("A", "A", price=ChannelPrice("A", Decimal(1), "USD"))]))
    [response] = [r for r in seen if r.status_code >= 400]
    body = response.json()
    _validate({"$ref": "#/components/schemas/BatchUpsertCatalogObjectsResponse"}, body, "error")
    [error] = body["errors"]
    assert error["code"] == "CURRENCY_MISMATCH" and error["category"] == "INVALID_REQUEST_ERROR"
