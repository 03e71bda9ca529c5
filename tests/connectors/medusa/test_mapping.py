"""Mapping between the hub's values and Medusa's bodies, both ways (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from channelhub.connectors.base import ChannelPrice, Listing, PermanentError
from channelhub.connectors.medusa import mapping
from channelhub.connectors.medusa.mapping import OrderCursor


def test_variants_sharing_a_parent_make_one_product_with_their_own_options() -> None:
    red = Listing("TEE-R", "Tee red", parent_sku="TEE", options={"Color": "red"})
    blue = Listing("TEE-B", "Tee blue", parent_sku="TEE", options={"Color": "blue"}, on_hold=True)
    mug = Listing("MUG 1", "Mug", images=("https://img.example/mug.jpg",))
    tee, single = mapping.product_groups([red, blue, mug])
    assert (tee.handle, [v.sku for v in tee.variants]) == ("tee", ["TEE-R", "TEE-B"])
    body = mapping.product_body(tee, sales_channel_id="sc_1", shipping_profile_id="sp_1")
    assert body["options"] == [{"title": "Color", "values": ["red", "blue"]}]
    assert [v["options"] for v in body["variants"]] == [{"Color": "red"}, {"Color": "blue"}]
    assert body["status"] == "published"  # one variant may still sell
    assert body["sales_channels"] == [{"id": "sc_1"}] and body["shipping_profile_id"] == "sp_1"
    assert single.handle == "mug-1"
    alone = mapping.product_body(single, sales_channel_id=None, shipping_profile_id=None)
    assert alone["options"] == [{"title": "Variant", "values": ["MUG 1"]}]
    assert alone["thumbnail"] == "https://img.example/mug.jpg" and "sales_channels" not in alone


def test_variants_that_options_cannot_tell_apart_fall_back_to_their_sku() -> None:
    same = [
        Listing("A", "A", parent_sku="P", options={"Size": "M"}),
        Listing("B", "B", parent_sku="P", options={"Size": "M"}),
    ]
    assert mapping.variant_options(same) == {"A": {"Variant": "A"}, "B": {"Variant": "B"}}
    held = [Listing("A", "A", on_hold=True)]
    assert mapping.product_status(held) == "draft"


def test_a_listing_price_goes_with_the_new_variant_in_major_units() -> None:
    listing = Listing(
        "MUG", "Mug", gtin="8712345678906", price=ChannelPrice("MUG", Decimal("12.95"), "EUR")
    )
    body = mapping.variant_body(listing, {"Variant": "MUG"})
    assert body["prices"] == [{"currency_code": "eur", "amount": 12.95}]
    assert body["ean"] == "8712345678906" and body["manage_inventory"] is True
    with pytest.raises(PermanentError, match="ISO 4217"):
        mapping.price_body(ChannelPrice("MUG", Decimal(1), "EURO"))
    with pytest.raises(PermanentError, match="negative"):
        mapping.price_body(ChannelPrice("MUG", Decimal(-1), "EUR"))


def test_a_price_update_keeps_the_other_currencies_medusa_would_drop() -> None:
    existing: list[dict[str, Any]] = [
        {"id": "price_1", "currency_code": "eur", "amount": 10, "rules": {}},
        {"id": "price_2", "currency_code": "usd", "amount": 12, "rules": {}},
        {"id": "price_3", "currency_code": "eur", "amount": 8, "min_quantity": 10, "rules": {}},
    ]
    updated = mapping.prices_with(existing, ChannelPrice("S", Decimal("9.5"), "EUR"))
    assert updated == [
        {"id": "price_1", "currency_code": "eur", "amount": 9.5},
        {"id": "price_2", "currency_code": "usd", "amount": 12},
        {"id": "price_3", "currency_code": "eur", "amount": 8, "min_quantity": 10},
    ]
    added = mapping.prices_with(existing[:1], ChannelPrice("S", Decimal(7), "GBP"))
    assert added[-1] == {"currency_code": "gbp", "amount": 7.0}
    assert mapping.current_amount(existing, "EUR") == Decimal(10)
    assert mapping.current_amount(existing, "GBP") is None


def test_changes_name_only_what_differs() -> None:
    listing = Listing("MUG", "Mug", "Stoneware", gtin="8712345678906")
    [group] = mapping.product_groups([listing])
    found = {"title": "Mug", "description": "Old", "status": "published"}
    assert mapping.product_changes(group, found) == {"description": "Stoneware"}
    assert mapping.variant_changes(listing, {"title": "Mug", "ean": "8712345678906"}) == {}
    assert mapping.variant_changes(listing, {"title": "Cup", "ean": None}) == {
        "title": "Mug",
        "ean": "8712345678906",
    }


def medusa_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "order_1",
        "status": "pending",
        "email": "anna@example.com",
        "customer_id": "cus_1",
        "currency_code": "eur",
        "created_at": "2026-11-23T02:43:47.466Z",
        "updated_at": "2026-11-23T02:43:48.001Z",
        "payment_status": "authorized",
        "items": [
            {
                "id": "ordli_1",
                "title": "Mug",
                "variant_sku": "MUG-1",
                "unit_price": 12.95,
                "quantity": 2,
                "detail": {"fulfilled_quantity": 1},
            }
        ],
        "shipping_address": {
            "first_name": "Anna",
            "last_name": "de Vries",
            "address_1": "Keizersgracht 1",
            "postal_code": "1015 CJ",
            "city": "Amsterdam",
            "country_code": "nl",
            "phone": "+31201234567",
        },
        "customer": {"first_name": None, "last_name": None},
    }
    return order | overrides


def test_a_medusa_order_becomes_a_channel_order() -> None:
    order = mapping.order_from_medusa(medusa_order())
    assert order.external_id == "order_1" and order.currency == "EUR"
    assert order.created_at == datetime(2026, 11, 23, 2, 43, 47, 466000, tzinfo=UTC)
    [line] = order.lines
    assert (line.external_line_id, line.sku, line.quantity, line.unit_price) == (
        "ordli_1",
        "MUG-1",
        2,
        Decimal("12.95"),
    )
    assert order.shipping_address is not None
    assert order.shipping_address.country == "NL" and order.shipping_address.name == "Anna de Vries"
    assert order.customer_name == "Anna de Vries" and order.customer_external_id == "cus_1"
    assert order.is_paid and not order.cancelled and order.billing_address is None
    unpaid = mapping.order_from_medusa(medusa_order(payment_status="not_paid", status="canceled"))
    assert not unpaid.is_paid and unpaid.cancelled
    assert mapping.fulfilled_quantities(medusa_order()) == {"ordli_1": 1}


def test_an_order_line_without_a_sku_is_refused_with_a_reason() -> None:
    broken = medusa_order(items=[{"id": "ordli_9", "title": "Gift card", "quantity": 1}])
    with pytest.raises(PermanentError, match=r"ordli_9 \('Gift card'\) has no variant SKU"):
        mapping.order_from_medusa(broken)
    with pytest.raises(PermanentError, match="not a number"):
        mapping.order_from_medusa(
            medusa_order(items=[{"id": "l", "variant_sku": "S", "quantity": "x"}])
        )


def test_error_bodies_read_as_one_line() -> None:
    body = {"type": "invalid_data", "message": "Product options are not provided for: [T]."}
    assert (
        mapping.describe_error(body) == "invalid_data: Product options are not provided for: [T]."
    )
    assert mapping.describe_error(None, "<html>Cannot POST</html>") == "<html>Cannot POST</html>"
    assert mapping.describe_error(None, "") == "no details given"


def test_the_order_cursor_skips_what_it_read_at_the_same_instant() -> None:
    start = OrderCursor.parse(None)
    assert "updated_at[$gte]" not in start.params(50)
    page = [
        {"id": "order_1", "updated_at": "2026-01-01T00:00:00.001Z"},
        {"id": "order_2", "updated_at": "2026-01-01T00:00:00.002Z"},
        {"id": "order_3", "updated_at": "2026-01-01T00:00:00.002Z"},
    ]
    after = OrderCursor.parse(start.advance(page, 50).dump())
    assert after.params(50)["updated_at[$gte]"] == "2026-01-01T00:00:00.002Z"
    assert after.seen == ("order_2", "order_3")
    assert [o["id"] for o in page if after.is_new(o)] == ["order_1"]
    # A full page all at one instant pages on by offset instead of reading it again.
    stuck = after.advance(page[1:], 2)
    assert stuck.offset == 2 and stuck.since == after.since
    assert OrderCursor.parse("not json") == OrderCursor()
