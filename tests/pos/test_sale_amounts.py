"""Issue 21, finding 8 (in part): a till's amounts with more decimals than the store's currency
has are refused with a 422 naming the line and field, not rounded."""

from __future__ import annotations

from fastapi.testclient import TestClient

SALES = "/api/v1/pos/stores/store_ams/sales"


def test_a_sale_with_a_third_decimal_is_refused_naming_the_field(till: TestClient) -> None:
    sale = {
        "transaction_id": "T-1",
        "lines": [
            {"sku": "MUG-1", "quantity": 1},
            {"sku": "MUG-1", "quantity": 1, "unit_price": "12.505"},
        ],
    }
    answer = till.post(SALES, json=sale)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["location"] == "lines[1].unit_price"
    assert "EUR allows (2)" in error["message"]
    sale["lines"][1]["unit_price"] = "12.50"  # type: ignore[index]
    assert till.post(SALES, json=sale).status_code == 201
