"""Issue 21, finding 10: the sandboxes answer hostile requests as their platforms do, a 400 in
the platform's own error format (never a 500), and follow the published error shapes and
rate-limit headers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from channelhub.sandbox.amazon import AmazonState
from channelhub.sandbox.amazon import create_app as amazon_app
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.bol.state import Limit
from channelhub.sandbox.magento import MagentoState
from channelhub.sandbox.magento import create_app as magento_app
from channelhub.sandbox.square import SquareState
from channelhub.sandbox.square import create_app as square_app

V10 = "application/vnd.retailer.v10+json"

# --- Square ---------------------------------------------------------------------------------


@pytest.fixture
def square() -> TestClient:
    state = SquareState()
    client = TestClient(square_app(state), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {state.access_token}"
    return client


def _square_error(answer: Any, code: str, field: str) -> None:
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["category"] == "INVALID_REQUEST_ERROR"
    assert (error["code"], error["field"]) == (code, field)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"idempotency_key": "k", "changes": "all of them"}, "EXPECTED_ARRAY", "changes"),
        ({"idempotency_key": "k", "changes": [7]}, "EXPECTED_OBJECT", "changes[0]"),
        (
            {"idempotency_key": "k", "changes": [{"type": "PHYSICAL_COUNT", "physical_count": []}]},
            "EXPECTED_OBJECT",
            "changes[0].physical_count",
        ),
        (
            {
                "idempotency_key": "k",
                "changes": [{"type": "PHYSICAL_COUNT", "physical_count": {"quantity": 5}}],
            },
            "EXPECTED_STRING",
            "changes[0].physical_count.quantity",
        ),
        ({"idempotency_key": 12, "changes": []}, "EXPECTED_STRING", "idempotency_key"),
    ],
)
def test_square_inventory_changes_with_confused_types_are_400(
    square: TestClient, body: dict[str, Any], code: str, field: str
) -> None:
    _square_error(square.post("/v2/inventory/changes/batch-create", json=body), code, field)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"object_types": "ITEM"}, "EXPECTED_ARRAY", "object_types"),
        ({"query": []}, "EXPECTED_OBJECT", "query"),
        ({"query": {"exact_query": "sku"}}, "EXPECTED_OBJECT", "query.exact_query"),
        (
            {"query": {"set_query": {"attribute_name": "sku", "attribute_values": 3}}},
            "EXPECTED_ARRAY",
            "query.set_query.attribute_values",
        ),
        ({"limit": "ten"}, "EXPECTED_INTEGER", "limit"),
        ({"limit": True}, "EXPECTED_INTEGER", "limit"),
        ({"include_related_objects": "yes"}, "EXPECTED_BOOLEAN", "include_related_objects"),
    ],
)
def test_square_catalog_search_with_confused_types_is_400(
    square: TestClient, body: dict[str, Any], code: str, field: str
) -> None:
    _square_error(square.post("/v2/catalog/search", json=body), code, field)


def test_square_well_typed_requests_still_work(square: TestClient) -> None:
    answer = square.post(
        "/v2/catalog/search",
        json={"query": {"exact_query": {"attribute_name": "sku", "attribute_value": "X"}}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"objects": []}


# --- Magento --------------------------------------------------------------------------------


@pytest.fixture
def magento() -> TestClient:
    state = MagentoState()
    client = TestClient(magento_app(state), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {state.access_token}"
    return client


def _error_parameters_as_published(body: dict[str, Any]) -> None:
    """The admin schema's ``error-parameters``: a list of objects whose values are strings,
    holding every ``%name`` placeholder of the message."""
    parameters = body.get("parameters", [])
    assert isinstance(parameters, list), body
    assert all(
        isinstance(p, dict) and all(isinstance(v, str) for v in p.values()) for p in parameters
    ), body
    names = {k for p in parameters for k in p}
    assert set(re.findall(r"%([A-Za-z_]+)", body["message"])) <= names, body
    for error in body.get("errors", []):
        _error_parameters_as_published(error)


@pytest.mark.parametrize(
    "query",
    [
        {"searchCriteria[currentPage]": "two"},
        {"searchCriteria[currentPage]": "1.5"},
        {"searchCriteria[pageSize]": "false"},
        {"searchCriteria[sortOrders][x][field]": "sku"},
        {"searchCriteria[filter_groups][0][filters][²][field]": "sku"},
    ],
)
def test_magento_non_integer_search_criteria_are_400(
    magento: TestClient, query: dict[str, str]
) -> None:
    answer = magento.get("/rest/all/V1/products", params=query)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["parameters"][0]["type"] == "int"
    _error_parameters_as_published(body)


def test_magento_error_parameters_follow_the_admin_schema(magento: TestClient) -> None:
    answers = [
        magento.post("/rest/all/V1/products", json={"product": {}}),
        magento.post("/rest/all/V1/products", json={"product": {"sku": "NEW-1"}}),
        magento.get("/rest/all/V1/products", headers={"Authorization": "Bearer nope"}),
        magento.post(
            "/rest/all/V1/inventory/source-items",
            json={"sourceItems": [{"sku": "NOPE", "source_code": "default", "quantity": 1}]},
        ),
    ]
    assert [a.status_code for a in answers] == [400, 400, 401, 400]
    for answer in answers:
        _error_parameters_as_published(answer.json())


# --- Amazon ---------------------------------------------------------------------------------


@pytest.fixture
def amazon() -> TestClient:
    state = AmazonState()
    client = TestClient(amazon_app(state), raise_server_exceptions=False)
    client.headers["x-amz-access-token"] = state.issue_token(state.seller)
    return client


@pytest.mark.parametrize("size", ["false", "0", "101", "1e3", "٣"])
def test_amazon_get_feeds_with_a_bad_page_size_is_400(amazon: TestClient, size: str) -> None:
    answer = amazon.get(
        "/feeds/2021-06-30/feeds", params={"feedTypes": "JSON_LISTINGS_FEED", "pageSize": size}
    )
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert "pageSize" in error["message"]


def test_amazon_get_feeds_with_a_good_page_size_answers(amazon: TestClient) -> None:
    answer = amazon.get(
        "/feeds/2021-06-30/feeds", params={"feedTypes": "JSON_LISTINGS_FEED", "pageSize": "5"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"feeds": []}


# --- bol.com --------------------------------------------------------------------------------


@pytest.fixture
def bol_state() -> BolState:
    return BolState()


@pytest.fixture
def bol(bol_state: BolState) -> TestClient:
    client = TestClient(bol_app(bol_state), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {bol_state.issue_token()}"
    client.headers["Accept"] = V10
    return client


def test_bol_problem_instance_is_the_full_uri_of_the_resource(bol: TestClient) -> None:
    answer = bol.get("/retailer/orders/NOPE", params={"page": "1"})
    assert answer.status_code == 404
    assert answer.json()["instance"] == "http://testserver/retailer/orders/NOPE"


def test_bol_rate_limit_reset_agrees_with_retry_after(bol: TestClient, bol_state: BolState) -> None:
    bol_state.limits["GET /retailer/orders"] = Limit(3, 60)
    answers = [bol.get("/retailer/orders") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1].headers
    assert throttled["x-ratelimit-remaining"] == "0"
    assert throttled["x-ratelimit-reset"] == throttled["Retry-After"]
    assert int(throttled["Retry-After"]) <= 20  # one request back after 60 s / 3
    for answer in answers[:-1]:
        # the budget for the next request is back within one request's share of the window
        assert 0 <= int(answer.headers["x-ratelimit-reset"]) <= 20
