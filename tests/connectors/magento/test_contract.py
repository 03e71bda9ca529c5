"""What the connector sends and what the sandbox answers, validated against Adobe's published
admin schema for 2.4.9 (Swagger 2.0): every request body against its operation's body
parameter, every JSON answer against the schema of its status code."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import httpx
import jsonschema
import pytest

from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    StockLevel,
)
from channelhub.connectors.magento import MagentoConnector
from channelhub.sandbox.contracts import load_contract_yaml
from channelhub.sandbox.magento import MagentoState, create_app

from .conftest import config_for


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = load_contract_yaml("magento", "admin-schema-2.4.9.yaml")
    return document


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The spec's operation for a concrete ``/rest/{store}/V1/...`` path."""
    local = "/V1" + path.split("/V1", 1)[1]
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, local) and method.lower() in item:
            return dict(item[method.lower()])
    raise AssertionError(f"{method} {local} is not in the published schema")


def _validate(spec: dict[str, Any], schema: dict[str, Any], value: Any, what: str) -> None:
    root = {**schema, "definitions": spec["definitions"]}
    errors = list(jsonschema.Draft4Validator(root).iter_errors(value))
    assert not errors, f"{what}: " + "; ".join(e.message for e in errors[:5])


def test_every_call_and_answer_follows_the_published_schema(spec: dict[str, Any]) -> None:
    state = MagentoState()
    exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        exchanges.append((response.request, response))

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, event_hooks={"response": [keep]}) as http:
            magento = MagentoConnector(
                config_for(
                    state,
                    username="admin",
                    password=state.admin_password,
                    access_token=None,
                    gtin_attribute="ean",
                ),
                http,
            )
            await magento.test_connection()
            await magento.push_listings(
                [
                    Listing(
                        "MUG-1",
                        "Mug",
                        "Stoneware",
                        gtin="8712345678906",
                        price=ChannelPrice("MUG-1", Decimal("12.95"), "EUR"),
                    ),
                    Listing("TEE-R", "Tee red", parent_sku="TEE"),
                ]
            )
            await magento.push_listings([Listing("MUG-1", "Big mug")])
            await magento.push_stock([StockLevel("MUG-1", 5), StockLevel("TEE-R", 0)])
            await magento.push_prices([ChannelPrice("MUG-1", Decimal("9.5"), "EUR")])
            await magento.read_stock(["MUG-1"])
            await magento.read_prices(["MUG-1"])
            order = state.create_order([("MUG-1", 2), ("TEE-R", 1)], configurable={"TEE-R": "TEE"})
            page = await magento.fetch_orders(None)
            [polled] = page.orders
            lines = tuple(
                FulfilmentLine(x.external_line_id, x.sku, x.quantity) for x in polled.lines
            )
            await magento.push_fulfilment(Fulfilment(polled.external_id, lines, "UPS", "1Z9"))
            other = state.create_order([("MUG-1", 1)], paid=False)
            await magento.push_cancellation(Cancellation(str(other["entity_id"]), (), "x"))
            assert order["entity_id"] != other["entity_id"]

    asyncio.run(scenario())
    operations = set()
    for request, response in exchanges:
        operation = _operation(spec, request.method, request.url.path)
        operations.add(operation["operationId"])
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "body":
                body = httpx.Response(200, content=request.content).json()
                _validate(spec, parameter["schema"], body, f"request of {operation['operationId']}")
        responses = operation["responses"]
        answer = responses.get(str(response.status_code))
        if answer is None and response.is_success:
            assert "200" not in responses, f"{operation['operationId']} answered {response}"
            continue  # a void operation: the schema documents no success body
        answer = answer or responses.get("default")
        assert answer is not None, f"{operation['operationId']} answered {response.status_code}"

        if "schema" in answer and response.content:
            _validate(
                spec,
                answer["schema"],
                response.json(),
                f"answer {response.status_code} of {operation['operationId']}",
            )
    assert {
        "PostV1IntegrationAdminToken",
        "PostV1Products",
        "PutV1ProductsSku",
        "PostV1InventorySourceitems",
        "PostV1ProductsBaseprices",
        "GetV1Orders",
        "GetV1OrdersId",
        "PostV1OrderOrderIdShip",
        "PostV1OrdersIdCancel",
    } <= operations


def test_error_answers_follow_the_error_response_schema(spec: dict[str, Any]) -> None:
    state = MagentoState()

    async def calls() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(state))
        headers = {"Authorization": f"Bearer {state.access_token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as http:
            return [
                await http.post(
                    "/rest/all/V1/products", json={"product": {"sku": "A"}}, headers=headers
                ),
                await http.get("/rest/all/V1/products/NOPE", headers=headers),
                await http.get("/rest/all/V1/orders/1"),
                await http.post(
                    "/rest/all/V1/inventory/source-items",
                    json={
                        "sourceItems": [
                            {"sku": "NOPE", "source_code": "default", "quantity": 1, "status": 1}
                        ]
                    },
                    headers=headers,
                ),
            ]

    answers = asyncio.run(calls())
    assert [a.status_code for a in answers] == [400, 404, 401, 400]
    # The schema types ``parameters`` as a list of {resources, fieldName, fieldValue} objects;
    # Magento sends the placeholder values instead: a list for %1, %2 or an object for %name.
    error = {"$ref": "#/definitions/error-response"}
    for answer in answers:
        body = answer.json()
        parameters = body.pop("parameters", None)
        assert parameters is None or isinstance(parameters, list | dict)
        for detail in body.get("errors") or []:
            assert isinstance(detail.pop("parameters", []), list | dict)
        _validate(spec, error, body, f"error {answer.status_code}")
        if isinstance(parameters, dict):
            placeholders = set(re.findall(r"%([A-Za-z_]+)", body["message"]))
            assert placeholders <= set(parameters), body
