"""The API's door: text that cannot be stored and bodies over the documented size are refused
before any route sees them, with a problem that names the field (422) or the limit (413)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channelhub.core.settings import get_settings

API = "/api/v1"
SURROGATE = "Ann\ud800"
NUL = "Ann\x00"


def raw_json(document: object) -> bytes:
    """JSON as a client would send it: lone surrogates written as ``\\ud800`` escapes."""
    return json.dumps(document).encode()


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def writes(bad: str) -> list[tuple[str, str, object, str]]:
    """(method, path, body, location of the bad text) for each kind of write endpoint."""
    return [
        (
            "POST",
            "/orders",
            {
                "channel": "webshop",
                "external_id": "W-1",
                "currency": "EUR",
                "customer": {"name": bad},
                "lines": [{"sku": "MUG-WHITE", "quantity": 1, "unit_price": "9.50"}],
            },
            "body.customer.name",
        ),
        (
            "POST",
            "/pos/stores/store_amsterdam/sales",
            {"lines": [{"sku": "MUG-WHITE", "quantity": 1}], "customer": {"name": bad}},
            "body.customer.name",
        ),
        (
            "PATCH",
            "/products/NEW-1",
            {"family": "mugs", "values": {"brand": [{"data": bad}]}},
            "body.values.brand.0.data",
        ),
        ("PUT", "/locations/depot", {"name": bad, "kind": "warehouse"}, "body.name"),
        (
            "POST",
            "/stock/receipt",
            [{"sku": "MUG-WHITE", "location": "wh", "quantity": 1, "reason": bad}],
            "body.0.reason",
        ),
        (
            "POST",
            "/customers/records",
            {"channel": "webshop", "source_ref": "c-1", "first_name": bad},
            "body.first_name",
        ),
    ]


@pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["lone-surrogate", "nul"])
def test_text_that_cannot_be_stored_is_a_422_naming_the_field(client: TestClient, bad: str) -> None:
    for method, path, body, location in writes(bad):
        response = client.request(
            method, API + path, content=raw_json(body), headers={"content-type": "application/json"}
        )
        problem = is_problem(response, 422)
        assert [e["location"] for e in problem["errors"]] == [location], (path, problem)
    assert client.get(f"{API}/products/NEW-1").status_code == 404
    assert client.get(f"{API}/locations/depot").status_code == 404


def test_a_paired_surrogate_and_an_escaped_backslash_are_ordinary_text(
    client: TestClient,
) -> None:
    # "\ud83d\ude00" is one emoji; "\\ud800" is the six characters \ud800: both are storable
    body = rb'{"name": "Mug \ud83d\ude00 \\ud800", "kind": "warehouse"}'
    response = client.put(
        f"{API}/locations/depot", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Mug \U0001f600 \\ud800"


def test_a_nul_in_a_query_is_a_422_naming_the_parameter(client: TestClient) -> None:
    problem = is_problem(client.get(f"{API}/customers?q=a%00b"), 422)
    assert [e["location"] for e in problem["errors"]] == ["query.q"]


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("CHANNELHUB_MAX_WEBHOOK_BYTES", "500")
    monkeypatch.setenv("CHANNELHUB_MAX_IMPORT_BYTES", "5000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    """A body without Content-Length (chunked): the limit must be counted as it streams."""
    for _ in range(total // size):
        yield b"x" * size


def test_a_body_over_the_limit_is_a_413_with_or_without_content_length(
    small_limits: None, app: Any, admin_token: str
) -> None:
    from tests.api.conftest import auth

    with TestClient(app, headers=auth(admin_token), raise_server_exceptions=False) as client:
        big = {"name": "x" * 2000, "kind": "warehouse"}
        problem = is_problem(client.put(f"{API}/locations/depot", json=big), 413)
        assert "1000 bytes" in problem["detail"]
        is_problem(client.put(f"{API}/locations/depot", content=chunks(2000)), 413)
        assert client.get(f"{API}/locations/depot").status_code == 404
        # webhooks: before the signature is checked, and before the body is read
        is_problem(client.post(f"{API}/webhooks/shop", content=b"x" * 600), 413)
        is_problem(client.post(f"{API}/webhooks/shop", content=chunks(600)), 413)
        # imports have their own, larger limit
        small = client.post(f"{API}/imports/products", content=b"sku,family\nIMP-1,mugs\n" * 100)
        assert small.status_code == 200, small.text
        is_problem(client.post(f"{API}/imports/products", content=b"x" * 6000), 413)
        is_problem(client.post(f"{API}/imports/products", content=chunks(6000)), 413)
