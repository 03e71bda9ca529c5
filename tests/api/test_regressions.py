"""Inputs that once made the API answer 500, on one database or both: each is now a 4xx
problem (or, inside an import, a rejected row), and nothing half-written is left behind."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
NUL = "a\x00b"


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def weight(amount: str) -> dict[str, Any]:
    return {"family": "mugs", "values": {"weight": [{"data": {"amount": amount, "unit": "GRAM"}}]}}


def brand(data: object) -> dict[str, Any]:
    return {"family": "mugs", "values": {"brand": [{"data": data}]}}


def rule(name: str, param: object) -> list[dict[str, Any]]:
    return [{"attribute": "name", "rule": name, "param": param}]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # NUL in a product value: PostgreSQL text and JSONB refuse it (was a 500 there)
        ("PATCH", "/products/NEW-1", brand(NUL)),
        ("PATCH", "/products/MUG-WHITE", {"values": {"images": [{"data": ["x", NUL]}]}}),
        ("POST", "/products/batch", [{"sku": "B-1"} | brand(NUL)]),
        # integers beyond 64 bits: orjson cannot write them to a JSON column (500 on both)
        ("POST", "/channels/bol/requirements", rule("max_length", 10**30)),
        ("POST", "/channels/bol/requirements", rule("allowed_values", [NUL])),
        ("PATCH", "/products/NEW-1", brand({"deep": [[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]})),
        # numbers whose normalized form overflows the decimal context (500 on both) ...
        ("PATCH", "/products/NEW-1", weight("1e99999999999")),
        # ... or that would be stored as a million digits, or silently rounded
        ("PATCH", "/products/NEW-1", weight("1e999999")),
        ("PATCH", "/products/NEW-1", weight("1." + "1" * 40)),
        # NUL in an API key's name (500 on PostgreSQL)
        ("POST", "/api-keys", {"name": NUL, "scopes": ["read"]}),
    ],
)
def test_unstorable_input_is_a_422(
    client: TestClient, method: str, path: str, body: object
) -> None:
    is_problem(client.request(method, API + path, json=body), 422)
    assert client.get(f"{API}/products/NEW-1").status_code == 404
    assert "B-1" not in {p["sku"] for p in client.get(f"{API}/products?q=b-1").json()["items"]}


def test_a_cursor_beyond_bigint_is_a_422(client: TestClient) -> None:
    # was OverflowError on SQLite ("Python int too large to convert to SQLite INTEGER")
    cursor = base64.urlsafe_b64encode(b"id:" + b"9" * 30).decode().rstrip("=")
    is_problem(client.get(f"{API}/products?cursor={cursor}"), 422)


@pytest.mark.parametrize("encoding", ["%00", "idna", "rot13", "base64"])
def test_an_import_in_an_unusable_encoding_is_a_422(client: TestClient, encoding: str) -> None:
    # "\x00" raised ValueError, idna UnicodeError inside the importer (500 on both)
    response = client.post(f"{API}/imports/products?encoding={encoding}", content=b"sku\nA\n")
    is_problem(response, 422)


def test_an_import_that_fails_to_decode_is_refused_not_a_500(client: TestClient) -> None:
    # utf-16 without a BOM: the codec raises a bare UnicodeError; the file is refused whole
    response = client.post(f"{API}/imports/products?encoding=utf-16", content=b"sku\nA\n")
    problem = is_problem(response, 422)  # refused outright: a 4xx, not a 200 report
    assert problem["errors"]


@pytest.mark.parametrize(
    ("kind", "fmt", "content"),
    [
        ("attributes", "csv", b"code,type,label-en_US\nzz,text,a\x00b\n"),
        ("attributes", "jsonl", b'{"code":"zz","type":"text","labels":{"en_US":"a\\u0000"}}\n'),
        ("categories", "csv", b"code,parent,label-en_US\nzc,,a\x00b\n"),
        ("families", "jsonl", b'{"code":"zf","attributes":["brand"],"labels":{"en":"\\u0000"}}\n'),
        ("products", "csv", b"sku,family,brand\nNUL-1,mugs,a\x00b\nOK-1,mugs,fine\n"),
    ],
)
def test_an_import_row_the_database_refuses_is_rejected_not_a_500(
    client: TestClient, db_kind: str, kind: str, fmt: str, content: bytes
) -> None:
    # On PostgreSQL the reference importers let the DataError escape (500); SQLite stored the
    # NUL. Issue 21: the row is refused on both, saying why.
    response = client.post(f"{API}/imports/{kind}?format={fmt}", content=content)
    assert response.status_code == 200, response.text
    report = response.json()
    assert len(report["rejected"]) == 1, report
    assert "NUL" in report["rejected"][0]["reason"]
    if kind == "products":
        assert client.get(f"{API}/products/OK-1").status_code == 200


def test_a_token_with_control_characters_is_401(anonymous: TestClient) -> None:
    response = anonymous.get(f"{API}/products", headers={"X-API-Key": "chk_\x7f_x"})
    is_problem(response, 401)


def test_a_locale_the_channel_does_not_use_is_a_422(client: TestClient) -> None:
    # a filter on a locale the channel never judges would match nothing, or everything
    is_problem(client.get(f"{API}/products?channel=bol&locale=en_US&complete=true"), 422)


def test_a_revoke_of_a_malformed_prefix_is_a_422(client: TestClient) -> None:
    is_problem(client.delete(f"{API}/api-keys/not%00hex"), 422)
