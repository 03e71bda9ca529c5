"""The POS API as a till uses it, on SQLite and PostgreSQL: lookup, sales, returns, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from channelhub.core.database import Database
from channelhub.inventory import service as inventory
from channelhub.orders import fulfilment
from channelhub.orders.model import DeliveryMethod
from channelhub.orders.service import find_order, import_order
from tests.orders.factories import order
from tests.pos.conftest import MUG_GTIN

SALES = "/api/v1/pos/stores/store_ams/sales"
RETURNS = "/api/v1/pos/stores/store_ams/returns"


def _on_hand(db: Database, sku: str, location: str) -> tuple[int, int]:
    levels = inventory.stock_levels(db, sku=sku, location=location)
    return sum(s.on_hand for s in levels), sum(s.reserved for s in levels)


def _is_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    return body


def test_lookup_by_sku_or_gtin_shows_stock_everywhere_and_errors_say_what_is_missing(
    till: TestClient,
) -> None:
    by_sku = till.get("/api/v1/pos/stores/store_ams/products/MUG-1")
    assert by_sku.status_code == 200, by_sku.text
    found = by_sku.json()
    assert (found["sku"], found["title"], found["gtin"]) == ("MUG-1", "Stoneware Mug", MUG_GTIN)
    assert (found["price"], found["currency"]) == ("12.50", "EUR")
    assert found["image"] == "https://cdn.example.com/mug-1.jpg"
    stock = [
        (s["location"], s["on_hand"], s["available"], s["is_this_store"]) for s in found["stock"]
    ]
    assert stock == [("ams", 2, 2, True), ("wh", 5, 5, False), ("utr", 1, 1, False)]
    by_gtin = till.get(f"/api/v1/pos/stores/store_ams/products/{MUG_GTIN}").json()
    assert by_gtin == found

    unknown = _is_problem(till.get("/api/v1/pos/stores/store_ams/products/NOPE-9"), 404)
    assert "NOPE-9" in str(unknown["detail"])
    store = _is_problem(till.get("/api/v1/pos/stores/store_zzz/products/MUG-1"), 404)
    assert "store 'store_zzz' does not exist" in str(store["detail"])
    webshop = _is_problem(till.get("/api/v1/pos/stores/web/products/MUG-1"), 404)
    assert "not a store" in str(webshop["detail"])
    anonymous = TestClient(till.app).get("/api/v1/pos/stores/store_ams/products/MUG-1")
    assert anonymous.status_code == 401


def test_a_sale_is_recorded_once_a_conflicting_replay_is_refused_and_errors_name_the_line(
    till: TestClient, retailer: Database
) -> None:
    sale = {"transaction_id": "T-0001", "lines": [{"sku": "MUG-1", "quantity": 1}]}
    first = till.post(SALES, json=sale)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["status"], body["total"], body["location"]) == ("collected", "12.50", "ams")
    assert _on_hand(retailer, "MUG-1", "ams") == (1, 0)
    assert inventory.available(retailer, "web", ["MUG-1"]) == {"MUG-1": 6}  # 5 wh + 1 ams
    again = till.post(SALES, json=sale)
    assert again.status_code == 201 and again.json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _on_hand(retailer, "MUG-1", "ams") == (1, 0)  # not sold twice
    changed = {"transaction_id": "T-0001", "lines": [{"sku": "MUG-1", "quantity": 2}]}
    conflict = _is_problem(till.post(SALES, json=changed), 409)
    assert "T-0001" in str(conflict["detail"])
    view = find_order(retailer, "store_ams", "T-0001")
    assert view.delivery_method == DeliveryMethod.IN_STORE and view.lines[0].shipped == 1

    keyed = {"lines": [{"sku": "MUG-2", "quantity": 1, "unit_price": "7.00"}]}
    headers = {"Idempotency-Key": "till-1-000042"}
    made = till.post(SALES, json=keyed, headers=headers)
    assert made.status_code == 201 and made.json()["transaction_id"] == "till-1-000042"
    assert till.post(SALES, json=keyed, headers=headers).json() == made.json()
    assert _on_hand(retailer, "MUG-2", "ams") == (0, 0)

    before = _on_hand(retailer, "MUG-1", "ams")
    no_key = _is_problem(till.post(SALES, json={"lines": [{"sku": "MUG-1", "quantity": 1}]}), 422)
    assert "Idempotency-Key" in str(no_key["detail"])
    bad = {
        "transaction_id": "T-2",
        "lines": [{"sku": "MUG-1", "quantity": 1}, {"sku": "X-404", "quantity": 1}],
    }
    unknown = _is_problem(till.post(SALES, json=bad), 422)
    assert unknown["errors"] == [{"location": "lines[1].sku", "message": "unknown SKU 'X-404'"}]
    zero = _is_problem(
        till.post(
            SALES, json={"transaction_id": "T-3", "lines": [{"sku": "MUG-1", "quantity": 0}]}
        ),
        422,
    )
    assert any("quantity" in e["location"] for e in zero["errors"])  # type: ignore[attr-defined]
    store = _is_problem(till.post("/api/v1/pos/stores/nowhere/sales", json=bad), 404)
    assert "nowhere" in str(store["detail"])
    # A refused sale frees its key and leaves stock alone.
    assert _on_hand(retailer, "MUG-1", "ams") == before
    fixed = {"transaction_id": "T-2", "lines": [{"sku": "MUG-1", "quantity": 1}]}
    assert till.post(SALES, json=fixed).status_code == 201


def test_the_last_unit_goes_to_the_web_order_or_the_till_never_both(
    till: TestClient, retailer: Database
) -> None:
    # MUG-2 has one unit, on the store's shelf, which the webshop also sells from.
    web = import_order(retailer, order("W-1", ("MUG-2", 1)))
    assert web.status == "routed"
    sale = {"transaction_id": "T-10", "lines": [{"sku": "MUG-2", "quantity": 1}]}
    refused = _is_problem(till.post(SALES, json=sale), 409)
    assert refused["errors"] == [
        {
            "location": "lines.MUG-2",
            "message": "1 x MUG-2 asked; the shelf has 1 on hand, 1 reserved for orders and "
            "carts, 0 safety stock",
        }
    ]
    assert _on_hand(retailer, "MUG-2", "ams") == (1, 1)
    # The goods already left (an offline till): recorded anyway, and flagged.
    forced = till.post(SALES, json={**sale, "accept_short": True})
    assert forced.status_code == 201, forced.text
    assert forced.json()["warnings"] and "sold beyond stock" in forced.json()["warnings"][0]


def test_a_till_sale_first_makes_the_web_order_wait(till: TestClient, retailer: Database) -> None:
    sale = {"transaction_id": "T-11", "lines": [{"sku": "MUG-2", "quantity": 1}]}
    assert till.post(SALES, json=sale).status_code == 201
    web = import_order(retailer, order("W-2", ("MUG-2", 1)))
    assert web.status == "backordered"
    assert _on_hand(retailer, "MUG-2", "ams") == (0, 0)


def _shipped_web_order(db: Database) -> int:
    placed = import_order(db, order("W-100", ("MUG-1", 2), price="10.00"))
    assert placed.order_id is not None
    fulfilment.ship(db, placed.order_id, "test", tracking="3S1")
    return placed.order_id


def test_an_online_order_is_returned_in_the_store_and_errors_say_why_not(
    till: TestClient, retailer: Database
) -> None:
    order_id = _shipped_web_order(retailer)
    before = _on_hand(retailer, "MUG-1", "ams")
    back = {"order_number": "W-100", "return_id": "R-1", "lines": [{"sku": "MUG-1", "quantity": 1}]}
    made = till.post(RETURNS, json=back)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["order"] == {
        "id": order_id,
        "channel": "web",
        "number": "W-100",
        "status": "shipped",
        "payment_status": "partially_refunded",
    }
    assert body["refund"] == "10.00" and body["lines"][0]["restocked_at"] == "ams"
    assert _on_hand(retailer, "MUG-1", "ams") == (before[0] + 1, before[1])
    replay = till.post(RETURNS, json=back)
    assert replay.json() == body and replay.headers["Idempotent-Replayed"] == "true"
    assert _on_hand(retailer, "MUG-1", "ams") == (before[0] + 1, before[1])
    too_many = {
        "order_number": "W-100",
        "return_id": "R-2",
        "lines": [{"sku": "MUG-1", "quantity": 2}],
    }
    problem = _is_problem(till.post(RETURNS, json=too_many), 422)
    assert problem["errors"] == [
        {
            "location": "lines[0].quantity",
            "message": "order W-100 (web) has 1 unit(s) of MUG-1 left to return (handed over "
            "and not yet returned); 2 asked",
        }
    ]
    missing = {
        "order_number": "W-404",
        "return_id": "R-9",
        "lines": [{"sku": "MUG-1", "quantity": 1}],
    }
    assert "W-404" in str(_is_problem(till.post(RETURNS, json=missing), 404)["detail"])
    other = {
        "order_number": "W-100",
        "return_id": "R-9",
        "lines": [{"sku": "MUG-2", "quantity": 1}],
    }
    wrong = _is_problem(till.post(RETURNS, json=other), 422)
    assert wrong["errors"] == [
        {"location": "lines[0].sku", "message": "order W-100 (web) has no line with SKU 'MUG-2'"}
    ]
    import_order(retailer, order("W-101", ("MUG-1", 1)))  # routed, not shipped yet
    early = {
        "order_number": "W-101",
        "return_id": "R-10",
        "lines": [{"sku": "MUG-1", "quantity": 1}],
    }
    assert "nothing was handed over" in str(
        _is_problem(till.post(RETURNS, json=early), 409)["detail"]
    )
    no_key = {"order_number": "W-100", "lines": [{"sku": "MUG-1", "quantity": 1}]}
    assert _is_problem(till.post(RETURNS, json=no_key), 422)["errors"] == [
        {"location": "return_id", "message": "give the till's return id or an Idempotency-Key"}
    ]
    rest = {**too_many, "lines": [{"sku": "MUG-1", "quantity": 1}]}
    done = till.post(RETURNS, json=rest)
    assert done.status_code == 201 and done.json()["order"]["status"] == "returned"
    assert len(find_order(retailer, "web", "W-100").returns) == 2
