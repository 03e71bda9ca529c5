"""Issue 21, finding 8 (in part): an amount given with more decimals than its currency has
(100.125 JPY, 9.995 EUR) is refused with a 422 naming the field, never rounded silently."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.core.database import Database
from channelhub.orders import service as orders
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock


def _client(db: Database) -> TestClient:
    make_world(db)
    save(db, mug("MUG-1"))  # the API refuses orders for SKUs the catalog does not know
    stock(db, "wh", MUG_1=10)
    _, token = create_key(db, "test", ["admin"])
    return TestClient(create_app(db), headers={"Authorization": f"Bearer {token}"})


def _order(external_id: str, currency: str, unit_price: str, **line: Any) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": external_id,
        "currency": currency,
        "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": unit_price, **line}],
    }


def _errors(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    errors: list[dict[str, str]] = answer.json()["errors"]
    return errors


def test_a_yen_amount_with_decimals_is_refused_naming_the_field(db: Database) -> None:
    api = _client(db)
    (error,) = _errors(api.post("/api/v1/orders", json=_order("J-1", "JPY", "1000.125")))
    assert error["location"] == "lines[0].unit_price"
    assert "JPY allows (0)" in error["message"]
    (error,) = _errors(api.post("/api/v1/orders", json=_order("E-1", "EUR", "9.99", tax="1.995")))
    assert error["location"] == "lines[0].tax"
    assert "EUR allows (2)" in error["message"]
    batch = [_order("E-2", "EUR", "9.99"), _order("E-3", "EUR", "9.995")]
    (error,) = _errors(api.post("/api/v1/orders/batch", json=batch))
    assert error["location"] == "[1].lines[0].unit_price"
    # nothing was stored, not even the good order of the batch
    assert api.get("/api/v1/orders?channel=web").json()["items"] == []


def test_amounts_with_the_currency_digits_are_booked_as_given(db: Database) -> None:
    api = _client(db)
    yen = api.post("/api/v1/orders", json=_order("J-2", "JPY", "1000"))
    assert yen.status_code == 201, yen.text
    assert orders.find_order(db, "web", "J-2").total == 1000
    euro = api.post("/api/v1/orders", json=_order("E-4", "EUR", "9.90"))
    assert euro.status_code == 201, euro.text


def test_a_refund_with_more_decimals_than_the_currency_is_refused(db: Database) -> None:
    api = _client(db)
    created = api.post("/api/v1/orders", json=_order("E-5", "EUR", "10.00")).json()
    order_id = created["order_id"]
    assert api.post(f"/api/v1/orders/{order_id}/shipments", json={}).status_code == 200
    refund = {"location": "wh", "items": [{"line_no": 1, "quantity": 1}], "refund": "4.005"}
    (error,) = _errors(api.post(f"/api/v1/orders/{order_id}/returns", json=refund))
    assert error["location"] == "refund"
    assert orders.find_order(db, "web", "E-5").refunded == 0
