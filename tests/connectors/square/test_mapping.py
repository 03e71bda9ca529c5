"""Mapping both ways without I/O: listings, prices and counts to Square; orders from Square."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from channelhub.connectors.base import ChannelPrice, Listing
from channelhub.connectors.square import mapping
from channelhub.connectors.square.client import describe_errors
from channelhub.connectors.square.mapping import VariationRef


def test_a_new_listing_becomes_an_item_with_temporary_ids() -> None:
    listing = Listing(
        "MUG-1",
        "Stoneware Mug",
        "Holds tea",
        gtin="8712345678906",
        options={"color": "black"},
        price=ChannelPrice("MUG-1", Decimal("12.95"), "EUR"),
    )
    item = mapping.catalog_item(listing, None)
    assert (item["type"], item["id"]) == ("ITEM", "#item:MUG-1")
    assert item["item_data"]["name"] == "Stoneware Mug" and "version" not in item
    [variation] = item["item_data"]["variations"]
    data = variation["item_variation_data"]
    assert (variation["id"], data["item_id"], data["sku"]) == (
        "#variation:MUG-1",
        "#item:MUG-1",
        "MUG-1",
    )
    assert (data["upc"], data["name"]) == ("8712345678906", "black")
    assert data["price_money"] == {"amount": 1295, "currency": "EUR"}
    assert data["pricing_type"] == "FIXED_PRICING"


def test_a_known_listing_keeps_its_ids_and_versions_and_truncates_to_square_limits() -> None:
    known = VariationRef("ITEM1", 7, "VAR1", 8)
    item = mapping.catalog_item(Listing("MUG-1", "x" * 600, on_hold=True), known)
    assert (item["id"], item["version"], len(item["item_data"]["name"])) == ("ITEM1", 7, 512)
    assert item["item_data"]["is_archived"] is True
    [variation] = item["item_data"]["variations"]
    assert (variation["id"], variation["version"]) == ("VAR1", 8)
    assert variation["item_variation_data"]["pricing_type"] == "VARIABLE_PRICING"


def test_money_uses_the_currency_minor_units() -> None:
    # a tie rounds half-up, the hub's one money rule (docs/money.md)
    assert mapping.to_money(Decimal("1.005"), "EUR") == {"amount": 101, "currency": "EUR"}
    assert mapping.to_money(Decimal("1500"), "JPY") == {"amount": 1500, "currency": "JPY"}
    assert mapping.from_money({"amount": 1234, "currency": "KWD"}, "EUR") == Decimal("1.234")


def test_a_price_rewrites_only_the_price_of_the_whole_variation() -> None:
    variation = {
        "type": "ITEM_VARIATION",
        "id": "VAR1",
        "version": 3,
        "updated_at": "2026-01-01T00:00:00Z",
        "item_variation_data": {"item_id": "ITEM1", "sku": "MUG-1", "name": "Regular"},
    }
    priced = mapping.priced_variation(variation, ChannelPrice("MUG-1", Decimal("9.5"), "EUR"))
    assert priced["item_variation_data"] == {
        "item_id": "ITEM1",
        "sku": "MUG-1",
        "name": "Regular",
        "pricing_type": "FIXED_PRICING",
        "price_money": {"amount": 950, "currency": "EUR"},
    }
    assert (priced["version"], "updated_at" in priced) == (3, False)
    assert "price_money" not in variation["item_variation_data"]  # the input is left alone


def test_stock_is_an_absolute_physical_count() -> None:
    at = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    change = mapping.physical_count("VAR1", "LOC1", -2, at)
    assert change == {
        "type": "PHYSICAL_COUNT",
        "physical_count": {
            "catalog_object_id": "VAR1",
            "state": "IN_STOCK",
            "location_id": "LOC1",
            "quantity": "0",
            "occurred_at": "2026-11-23T03:00:00.000Z",
        },
    }


def test_a_square_order_becomes_a_channel_order_of_its_store() -> None:
    money = {"currency": "EUR"}
    order = {
        "id": "ORD1",
        "location_id": "LOC1",
        "state": "COMPLETED",
        "created_at": "2026-11-23T02:00:00.000Z",
        "updated_at": "2026-11-23T02:00:01.000Z",
        "customer_id": "CUST1",
        "total_money": {"amount": 2590, **money},
        "line_items": [
            {
                "uid": "a",
                "quantity": "2",
                "catalog_object_id": "VAR1",
                "base_price_money": {"amount": 1295, **money},
                "total_discount_money": {"amount": 100, **money},
                "total_tax_money": {"amount": 50, **money},
            },
            {"uid": "b", "quantity": "1", "name": "Custom amount"},  # no catalog object
            {"uid": "c", "quantity": "0.5", "catalog_object_id": "VAR2"},  # weighed
        ],
    }
    mapped = mapping.channel_order(order, {"VAR1": "MUG-1", "VAR2": "CHEESE"}, "ams", "USD")
    assert mapped is not None
    assert (mapped.external_id, mapped.currency, mapped.pickup_location) == ("ORD1", "EUR", "ams")
    assert (mapped.is_paid, mapped.cancelled, mapped.customer_external_id) == (True, False, "CUST1")
    [line] = mapped.lines
    assert (line.external_line_id, line.sku, line.quantity) == ("a", "MUG-1", 2)
    assert (line.unit_price, line.discount, line.tax) == (
        Decimal("12.95"),
        Decimal("1.00"),
        Decimal("0.50"),
    )
    assert (
        mapping.channel_order({**order, "line_items": order["line_items"][1:2]}, {}, None, "EUR")
        is None
    )


def test_square_errors_read_as_one_clear_line() -> None:
    errors = [
        {
            "category": "INVALID_REQUEST_ERROR",
            "code": "INVALID_VALUE",
            "detail": "bad",
            "field": "x",
        },
        {"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED"},
    ]
    assert describe_errors(errors) == (
        "INVALID_VALUE (INVALID_REQUEST_ERROR) at x: bad; RATE_LIMITED (RATE_LIMIT_ERROR)"
    )
    assert describe_errors(None) == "no error details"


def test_idempotency_keys_follow_the_content() -> None:
    one = mapping.idempotency_key("counts", [{"q": 1}])
    assert one == mapping.idempotency_key("counts", [{"q": 1}])
    assert one != mapping.idempotency_key("counts", [{"q": 2}])
    assert len(one) <= 128
