"""Contract tests: what the connector sends and what the sandbox answers, checked against
bol.com's published OpenAPI documents in ``channelhub.sandbox.contracts`` (``bol/``) (openapi-core).

Stubs and leniency, and why:
- ``offers-v11.yaml`` refers to ``../common/responses.yaml`` (error responses), which bol.com
  did not publish alongside it; we stub each referenced response with v10's ``Problem`` schema.
- All three documents declare the bearer scheme as ``type: http`` with ``in: header``, which a
  strict OpenAPI 3.0 validator rejects; we drop ``in``.
- ``offers-v11.yaml`` gives the boolean ``for-sale`` parameter ``default: null`` without
  ``nullable``, which the spec validator rejects; we drop that default.
- ``offers-v11.yaml`` declares a content type with an empty schema on its 204 answers, which
  have no body by definition (RFC 9110); we check that a 204 is empty instead.
- Security is not checked here (the token flow has its own tests).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    StockLevel,
)
from channelhub.connectors.bol import BolConnector
from channelhub.connectors.bol.client import endpoint_key
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.contracts import load_contract_json, load_contract_yaml

from .conftest import config_for, run

BASE = "http://bol.sandbox"
EAN = "8712345678906"


# openapi-core deserializes only the media types it knows; bol.com's vendor types are JSON.
CONFIG = Config(
    extra_media_type_deserializers={
        "application/vnd.retailer.v10+json": json.loads,
        "application/vnd.retailer.v11+json": json.loads,
    }
)


def _without_security_in(spec: dict[str, Any]) -> dict[str, Any]:
    for scheme in spec.get("components", {}).get("securitySchemes", {}).values():
        scheme.pop("in", None)
    spec.pop("security", None)
    spec["servers"] = [{"url": BASE}]
    return spec


@cache
def _problem_schemas() -> dict[str, Any]:
    v10 = load_contract_json("bol", "retailer-v10.json")
    return {name: v10["components"]["schemas"][name] for name in ("Problem", "Violation")}


def _stub_common_refs(node: Any, responses: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("../common/responses.yaml#"):
            name = ref.rsplit("/", 1)[-1]
            responses[name] = {
                "description": name,
                "content": {
                    "application/vnd.retailer.v11+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
                },
            }
            return {"$ref": f"#/components/responses/{name}"}
        return {key: _stub_common_refs(value, responses) for key, value in node.items()}
    if isinstance(node, list):
        return [_stub_common_refs(value, responses) for value in node]
    return node


@cache
def offers_v11() -> OpenAPI:
    raw = load_contract_yaml("bol", "offers-v11.yaml")
    responses: dict[str, Any] = {}
    spec = _stub_common_refs(raw, responses)
    spec["components"]["responses"] = responses
    for parameter in spec["paths"]["/retailer/offers"]["get"]["parameters"]:
        if parameter["schema"].get("default", "unset") is None:
            del parameter["schema"]["default"]
    spec["components"]["schemas"].update(copy.deepcopy(_problem_schemas()))
    return OpenAPI.from_dict(_without_security_in(spec), config=CONFIG)


@cache
def retailer_v10() -> OpenAPI:
    return OpenAPI.from_dict(
        _without_security_in(load_contract_json("bol", "retailer-v10.json")),
        config=CONFIG,
    )


@cache
def shared_v10() -> OpenAPI:
    return OpenAPI.from_dict(
        _without_security_in(load_contract_json("bol", "shared-v10.json")),
        config=CONFIG,
    )


def spec_for(path: str) -> OpenAPI:
    if path.startswith("/retailer/offers"):
        return offers_v11()
    if path.startswith("/shared/"):
        return shared_v10()
    return retailer_v10()


@dataclass
class OpenAPIRequest:
    """An httpx request as openapi-core reads one."""

    request: httpx.Request

    def __post_init__(self) -> None:
        query = parse_qs(self.request.url.query.decode(), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(dict(self.request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self.request.url.scheme}://{self.request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self.request.url.path

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self.request.content or None

    @property
    def content_type(self) -> str:
        return str(self.request.headers.get("Content-Type", ""))


@dataclass
class OpenAPIResponse:
    response: httpx.Response

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return str(self.response.headers.get("Content-Type", ""))

    @property
    def headers(self) -> Headers:
        return Headers(dict(self.response.headers))

    @property
    def data(self) -> bytes | None:
        return self.response.content or None


class Recording(httpx.AsyncBaseTransport):
    """Passes calls to the sandbox in-process and keeps every exchange for validation."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        recorded = httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )
        if request.url.path != "/token":
            self.exchanges.append((request, recorded))
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


async def _exercise(app: Any, state: BolState) -> Recording:
    recording = Recording(app)
    async with httpx.AsyncClient(transport=recording) as http:
        bol = BolConnector(config_for(BASE), http)
        await bol.test_connection()
        await bol.push_listings(
            [Listing(sku="MUG", title="Mug", gtin=EAN, attributes={"price": "9.95"})]
        )
        await bol.push_stock([StockLevel("MUG", 4)])
        await bol.push_prices([ChannelPrice("MUG", Decimal("8.50"), "EUR")])
        await bol.push_listings([Listing(sku="MUG", title="Mug", gtin=EAN, on_hold=True)])
        await bol.read_stock(["MUG"])
        order_id = state.add_order([(EAN, 2, 8.5)], pickup_point="Albert Heijn: UTRECHT")
        page = await bol.fetch_orders(None)
        line = page.orders[0].lines[0]
        shipment = await bol.push_fulfilment(
            Fulfilment(order_id, (FulfilmentLine(line.external_line_id, "MUG", 1),), "DHL", "T1")
        )
        cancellation = await bol.push_cancellation(
            Cancellation(order_id, (line.external_line_id,), "REQUESTED_BY_CUSTOMER")
        )
        for accepted in (shipment, cancellation):
            assert accepted.pending
            await bol.check_pending(accepted.pending)
    return recording


@pytest.fixture(scope="module")
def exchanges() -> list[tuple[httpx.Request, httpx.Response]]:
    from channelhub.sandbox.bol import create_app

    state = BolState(process_delay=0)
    return run(_exercise(create_app(state), state)).exchanges


def test_the_scenario_covers_every_operation(
    exchanges: list[tuple[httpx.Request, httpx.Response]],
) -> None:
    seen = {endpoint_key(request.method, request.url.path) for request, _ in exchanges}
    assert seen == {
        "GET /retailer/offers",
        "POST /retailer/offers",
        "PATCH /retailer/offers/{id}",
        "GET /retailer/orders",
        "GET /retailer/orders/{id}",
        "POST /retailer/shipments",
        "PUT /retailer/orders/cancellation",
        "GET /shared/process-status",
        "GET /shared/process-status/{id}",
    }


def test_requests_match_the_published_contract(
    exchanges: list[tuple[httpx.Request, httpx.Response]],
) -> None:
    for request, _ in exchanges:
        spec_for(request.url.path).validate_request(OpenAPIRequest(request))


def test_responses_match_the_published_contract(
    exchanges: list[tuple[httpx.Request, httpx.Response]],
) -> None:
    for request, response in exchanges:
        if response.status_code == 204:
            assert response.content == b""
            continue
        spec_for(request.url.path).validate_response(
            OpenAPIRequest(request), OpenAPIResponse(response)
        )


def test_error_bodies_match_the_published_problem() -> None:
    from channelhub.sandbox.bol import create_app

    async def scenario() -> list[tuple[httpx.Request, httpx.Response]]:
        recording = Recording(create_app())
        async with httpx.AsyncClient(transport=recording) as http:
            bol = BolConnector(config_for(BASE), http)
            with pytest.raises(Exception, match="unitPrice"):
                await bol.push_listings(
                    [Listing(sku="X", title="X", gtin=EAN, attributes={"price": "0.10"})]
                )
        return recording.exchanges

    failures = [pair for pair in run(scenario()) if pair[1].status_code == 400]
    assert failures
    for request, response in failures:
        spec_for(request.url.path).validate_response(
            OpenAPIRequest(request), OpenAPIResponse(response)
        )
