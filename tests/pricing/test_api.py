"""Pricing over the API: price lists, prices, CSV import, promotions, resolve, parity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.core.database import Database


@pytest.fixture
def client(priced: Database) -> Iterator[TestClient]:
    _key, token = create_key(priced, "pricing-test", ["admin"])
    app = create_app(priced)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as c:
        yield c


def test_prices_promotions_resolve_and_parity(client: TestClient) -> None:
    r = client.put("/api/v1/price-lists/web_gbp", json={"channel": "web", "currency": "GBP"})
    assert r.status_code == 200 and r.json()["currency"] == "GBP"
    assert {p["code"] for p in client.get("/api/v1/price-lists").json()} >= {"web_eur", "bol_eur"}

    rows = [
        {"price_list": "web_eur", "sku": "MUG-1", "base_price": "20.00", "sale_price": "18.00"},
        {"price_list": "bol_eur", "sku": "MUG-1", "base_price": "18.00"},
        {"price_list": "web_eur", "sku": "NOPE", "base_price": "1.00"},
    ]
    r = client.post("/api/v1/prices/batch", json=rows)
    body = r.json()
    assert r.status_code == 200, body
    assert (body["created"], body["events"]) == (2, 2)
    assert body["rejected"] == [
        {"line": 2, "sku": "NOPE", "column": "sku", "reason": "product NOPE does not exist"}
    ]

    r = client.put("/api/v1/price-lists/web_eur/prices/MUG-2", json={"base_price": "5.001"})
    assert r.status_code == 422
    r = client.put("/api/v1/price-lists/web_eur/prices/MUG-2", json={"base_price": "5"})
    assert r.status_code == 200 and r.json()["base_price"] == "5.00"

    promo = {
        "code": "kitchen10",
        "kind": "percentage",
        "value": "10",
        "categories": ["kitchen"],
        "channels": ["web"],
    }
    assert client.post("/api/v1/promotions", json=promo).status_code == 201
    assert client.post("/api/v1/promotions", json=promo).status_code == 409
    r = client.get("/api/v1/prices/resolve", params={"sku": "MUG-1", "channel": "web"})
    body = r.json()
    assert r.status_code == 200, body
    assert (body["base_price"], body["sale_price"], body["effective_price"]) == (
        "20.00",
        "18.00",
        "16.20",
    )
    assert body["promotions_applied"][0]["code"] == "kitchen10"
    r = client.get(
        "/api/v1/prices/resolve",
        params={"sku": "MUG-1", "channel": "web", "at": "2025-01-01T00:00:00"},
    )
    assert r.status_code == 422  # a time without offset

    r = client.get("/api/v1/parity/report")
    body = r.json()
    assert r.status_code == 200
    assert {(b["sku"], b["difference"]) for b in body["breaks"]} == {
        ("MUG-1", "1.80"),
        ("MUG-2", None),
    }
    r = client.put("/api/v1/parity/rules", json={"channel": "bol", "max_percent": "15"})
    assert r.status_code == 200
    breaks = client.get("/api/v1/parity/report").json()["breaks"]
    assert [b["sku"] for b in breaks] == ["MUG-2"]

    csv = "sku,base_price\nMUG-2,4.50\nMUG-1,x\n"
    r = client.post("/api/v1/prices/import", params={"price_list": "bol_eur"}, content=csv)
    body = r.json()
    assert (body["created"], body["rejected"][0]["line"]) == (1, 3)
    assert client.get("/api/v1/parity/report").json()["breaks"] == []

    assert client.delete("/api/v1/promotions/kitchen10").status_code == 204
    assert client.get("/api/v1/promotions/kitchen10").status_code == 404
    page = client.get("/api/v1/prices", params={"price_list": "web_eur"}).json()
    assert [p["sku"] for p in page["items"]] == ["MUG-1", "MUG-2"]
