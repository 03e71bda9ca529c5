"""What the connector sends is checked against Medusa's published Admin OpenAPI document
(``shared/specs/medusa/admin``): every route it calls is documented (but one, see below) and
every JSON body it sends validates against the operation's request schema."""

from __future__ import annotations

import json
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
from channelhub.connectors.medusa import MedusaConnector
from channelhub.sandbox.contracts import load_contract_yaml
from channelhub.sandbox.medusa import MedusaState, create_app

from .conftest import config_for, run

#: Added in Medusa 2.17 (after the published document) and measured on a real 2.21.2 server.
NEWER_THAN_SPEC = {("POST", "/admin/products/{id}/options/batch")}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = load_contract_yaml("medusa", "admin/openapi.full.yaml")
    return loaded


def operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None


def sent_requests() -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    return seen, record


async def whole_cycle(state: MedusaState, seen_hook: Any) -> None:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [seen_hook]}) as http:
        medusa = MedusaConnector(config_for(state, base_url="http://medusa.sandbox"), http)
        eur = ChannelPrice("TEE-R", Decimal("19.95"), "EUR")
        red = Listing("TEE-R", "Tee", parent_sku="TEE", price=eur, gtin="8712345678906")
        await medusa.push_listings([red])
        await medusa.push_listings(
            [
                Listing("TEE-R", "Tee red", parent_sku="TEE"),
                Listing("TEE-B", "Tee", parent_sku="TEE"),
            ]
        )
        await medusa.push_prices([ChannelPrice("TEE-R", Decimal(21), "USD")])
        await medusa.push_stock([StockLevel("TEE-R", 3)])
        await medusa.push_stock([StockLevel("TEE-R", 4)])
        first = state.place_order([("TEE-R", 1)])
        second = state.place_order([("TEE-R", 1)])
        [order, _] = (await medusa.fetch_orders(None)).orders
        line = order.lines[0]
        await medusa.push_fulfilment(
            Fulfilment(
                first, (FulfilmentLine(line.external_line_id, "TEE-R", 1),), tracking_number="3S1"
            )
        )
        await medusa.push_cancellation(Cancellation(second, (), "no stock"))


def test_every_request_follows_the_admin_api_document(spec: dict[str, Any]) -> None:
    seen, hook = sent_requests()
    run(whole_cycle(MedusaState(), hook))
    checked: set[str] = set()
    for request in seen:
        method, path = request.method, request.url.path
        if path == "/auth/user/emailpass":
            continue
        found = operation(spec, method, path)
        if found is None:
            assert any(
                method == m and re.match("^" + re.sub(r"\{[^/]+\}", "[^/]+", t) + "$", path)
                for m, t in NEWER_THAN_SPEC
            ), f"{method} {path} is not in Medusa's Admin API document"
            continue
        template, op = found
        documented = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        for name in request.url.params:
            base = name.split("[", 1)[0]
            assert base in documented, f"{method} {template}: query {name!r} is not documented"
        if request.content:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            body = json.loads(request.content)
            validator = jsonschema.Draft4Validator({**schema, "components": spec["components"]})
            problems = [
                f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)
            ]
            assert not problems, f"{method} {template}: {problems}"
        checked.add(f"{method} {template}")
    assert {
        "POST /admin/products",
        "POST /admin/products/{id}/variants",
        "POST /admin/products/{id}/variants/{variant_id}",
        "POST /admin/inventory-items/{id}/location-levels",
        "POST /admin/inventory-items/{id}/location-levels/{location_id}",
        "GET /admin/orders",
        "POST /admin/orders/{id}/fulfillments",
        "POST /admin/orders/{id}/fulfillments/{fulfillment_id}/shipments",
        "POST /admin/orders/{id}/cancel",
    } <= checked
