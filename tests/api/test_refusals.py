"""Data the hub refuses (or, for a sale that already happened, accepts and flags): a negative
order total, unknown SKUs on orders and stock changes, import files refused outright, and
/metrics for anyone without a key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.demo.load import load_sample_catalog
from channelhub.inventory import service as inventory
from channelhub.orders.model import DeliveryMethod, LineInput, OrderInput
from channelhub.orders.service import get_order, import_order

API = "/api/v1"
SKU = "TEE-ORG-BLA-S"


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def order(external_id: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": "webshop",
        "external_id": external_id,
        "currency": "EUR",
        "lines": list(lines),
    }


def line(sku: str = SKU, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "quantity": 1, "unit_price": "1.00", **extra}


def test_a_discount_beyond_the_line_price_is_a_422(client: TestClient) -> None:
    problem = is_problem(
        client.post(f"{API}/orders", json=order("NEG-1", line(discount="500.00"))), 422
    )
    assert [e["location"] for e in problem["errors"]] == ["lines[0].discount"]
    assert "1.00" in problem["errors"][0]["message"]
    assert client.get(f"{API}/orders?channel=webshop").json()["items"] == []
    sale = {
        "transaction_id": "T-1",
        "lines": [{"sku": SKU, "quantity": 1, "unit_price": "1.00", "discount": "500.00"}],
    }
    problem = is_problem(client.post(f"{API}/pos/stores/store_amsterdam/sales", json=sale), 422)
    assert [e["location"] for e in problem["errors"]] == ["lines[0].discount"]
    # a discount of the whole price is a free line, not an error
    free = client.post(f"{API}/orders", json=order("FREE-1", line(discount="1.00")))
    assert free.status_code == 201, free.text


def test_an_order_naming_an_unknown_sku_is_a_422_naming_it(client: TestClient) -> None:
    body = order("UNK-1", line(), line("GHOST-9"))
    problem = is_problem(client.post(f"{API}/orders", json=body), 422)
    assert problem["errors"] == [{"location": "lines[1].sku", "message": "unknown SKU 'GHOST-9'"}]
    batch = client.post(f"{API}/orders/batch", json=[body, order("OK-1", line())])
    assert batch.status_code == 200, batch.text
    outcomes = [(r["external_id"], r["outcome"]) for r in batch.json()]
    assert outcomes == [("UNK-1", "rejected"), ("OK-1", "created")]
    assert "GHOST-9" in batch.json()[0]["problems"][0]["message"]


def test_a_stock_receipt_of_an_unknown_sku_is_a_422_and_creates_no_stock_row(
    client: TestClient, db: Database
) -> None:
    receipt = [
        {"sku": SKU, "location": "wh", "quantity": 1},
        {"sku": "GHOST-9", "location": "wh", "quantity": 5},
    ]
    problem = is_problem(client.post(f"{API}/stock/receipt", json=receipt), 422)
    assert problem["errors"] == [{"location": "[1].sku", "message": "unknown SKU 'GHOST-9'"}]
    csv = b"sku,location,quantity\nGHOST-9,wh,5\n"
    is_problem(client.post(f"{API}/stock/receipt/csv", content=csv), 422)
    assert inventory.stock_levels(db, sku="GHOST-9") == []


def test_a_till_sale_already_made_of_an_unknown_sku_is_kept_and_flagged(db: Database) -> None:
    # the goods left the shop: the hub keeps the sale, flags the order and raises an alert
    load_sample_catalog(db)
    sale = OrderInput(
        channel="store_amsterdam",
        external_id="TILL-1",
        currency="EUR",
        lines=(LineInput("GHOST-9", 1, Decimal("5.00")),),
        delivery_method=DeliveryMethod.IN_STORE,
        pickup_location="ams",
    )
    result = import_order(db, sale, actor="till")
    assert result.outcome == "created" and result.order_id is not None
    kept = get_order(db, result.order_id)
    assert kept.flagged and "unknown SKU 'GHOST-9'" in kept.flagged
    assert [a.sku for a in inventory.list_alerts(db) if a.kind == "unknown_sku"] == ["GHOST-9"]


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/imports/products?encoding=utf-16", b"sku\nA\n"),  # cannot be decoded at all
        ("/imports/attributes", b"code,nonsense\nzz,1\n"),  # unknown columns
        ("/prices/import", b"sku,what\nA,1\n"),  # a header the importer cannot use
    ],
)
def test_an_import_file_refused_outright_is_a_422(
    client: TestClient, path: str, content: bytes
) -> None:
    problem = is_problem(client.post(API + path, content=content), 422)
    assert problem["errors"] and all(e["location"] == "body" for e in problem["errors"])


def test_metrics_need_a_key_unless_made_public(
    app: FastAPI, read_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = TestClient(app)
    is_problem(anonymous.get("/metrics"), 401)
    answer = anonymous.get("/metrics", headers={"Authorization": f"Bearer {read_token}"})
    assert answer.status_code == 200 and "channelhub_" in answer.text
    monkeypatch.setenv("CHANNELHUB_METRICS_PUBLIC", "true")
    get_settings.cache_clear()
    try:
        assert anonymous.get("/metrics").status_code == 200
    finally:
        get_settings.cache_clear()
