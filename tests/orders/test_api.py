"""The inventory and order API end to end: locations, stock, an order, its shipment and return."""

from __future__ import annotations

from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.core.database import Database
from tests.factories import make_catalog, mug, save


def client(db: Database) -> TestClient:
    _, token = create_key(db, "test", ["admin"])
    return TestClient(create_app(db), headers={"Authorization": f"Bearer {token}"})


def test_stock_and_an_order_through_the_api(db: Database) -> None:
    make_catalog(db)
    save(db, mug("MUG-1"))  # stock and orders through the API name catalog products only
    api = client(db)
    wh = {"name": "Warehouse", "kind": "warehouse", "priority": 10}
    assert api.put("/api/v1/locations/wh", json=wh).status_code == 200
    store = {"name": "Store", "kind": "store", "pickup": True, "address": {"city": "Amsterdam"}}
    assert api.put("/api/v1/locations/ams", json=store).status_code == 200
    links = [{"location": "wh"}, {"location": "ams"}]
    assert api.put("/api/v1/channels/web/locations", json=links).status_code == 200
    receipt = [{"sku": "MUG-1", "location": "wh", "quantity": 5}]
    headers = {"Idempotency-Key": "po-1"}
    first = api.post("/api/v1/stock/receipt", json=receipt, headers=headers).json()
    again = api.post("/api/v1/stock/receipt", json=receipt, headers=headers).json()
    assert (first["replayed"], again["replayed"]) == (False, True)
    csv = "sku,location,quantity\nMUG-1,ams,2\n"
    counted = api.post("/api/v1/stock/count/csv", content=csv, headers={"Content-Type": "text/csv"})
    assert counted.status_code == 200, counted.text
    assert api.get("/api/v1/channels/web/availability?sku=MUG-1").json() == {"MUG-1": 7}

    body = {
        "channel": "web",
        "external_id": "1001",
        "currency": "EUR",
        "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.50"}],
    }
    created = api.post("/api/v1/orders", json=body)
    assert created.status_code == 201 and created.json()["status"] == "routed"
    assert api.post("/api/v1/orders", json=body).status_code == 200  # idempotent
    order_id = created.json()["order_id"]
    assert api.get("/api/v1/channels/web/orders/1001").json()["id"] == order_id
    shipped = api.post(f"/api/v1/orders/{order_id}/shipments", json={"tracking": "3S123"})
    assert shipped.json()["status"] == "shipped"
    returned = api.post(
        f"/api/v1/orders/{order_id}/returns",
        json={"location": "ams", "items": [{"line_no": 1, "quantity": 1}]},
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["refunded"] == "12.50"
    page = api.get("/api/v1/orders?channel=web").json()
    assert [o["external_id"] for o in page["items"]] == ["1001"]
    assert api.get("/api/v1/stock-audit").json() == []
    ledger = api.get("/api/v1/stock-movements?sku=MUG-1").json()["items"]
    assert [m["kind"] for m in ledger][:2] == ["receipt", "count"]


def test_api_errors_are_problems_not_crashes(db: Database) -> None:
    make_catalog(db)
    api = client(db)
    assert api.get("/api/v1/orders/99").status_code == 404
    assert api.get("/api/v1/orders/99999999999999").status_code == 422
    bad = {"channel": "web", "external_id": "x\u0000", "currency": "EUR", "lines": []}
    assert api.post("/api/v1/orders", json=bad).status_code == 422
    short = [{"sku": "A", "from_location": "nowhere", "to_location": "else", "quantity": 1}]
    assert api.post("/api/v1/stock-transfers", json=short[0]).status_code == 404
    cancel = api.post("/api/v1/orders/1/cancel", json={})
    assert cancel.status_code == 404 and cancel.headers["content-type"].startswith(
        "application/problem+json"
    )
