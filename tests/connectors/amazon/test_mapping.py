"""Mapping between SP-API documents and the hub's values, both ways (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from channelhub.connectors.amazon import mapping
from channelhub.connectors.amazon.mapping import Marketplace
from channelhub.connectors.base import ChannelPrice, Fulfilment, FulfilmentLine, StockLevel
from channelhub.sandbox.contracts import load_contract_json

from .conftest import MARKETPLACE, listing

WHERE = Marketplace(MARKETPLACE, "de_DE", "HOME", "new_new")


def spec(name: str) -> Any:
    return load_contract_json("amazon", name)


def test_listing_attributes_carry_marketplace_and_language() -> None:
    attributes = mapping.content_attributes(listing("MUG-1"), WHERE)
    assert attributes["item_name"] == [
        {"value": "Mug MUG-1", "language_tag": "de_DE", "marketplace_id": MARKETPLACE}
    ]
    assert attributes["brand"][0]["value"] == "Acme"
    assert attributes["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": "4006381333931", "marketplace_id": MARKETPLACE}
    ]
    assert attributes["product_description"][0]["value"] == "A sturdy stoneware mug."
    assert [b["value"] for b in attributes["bullet_point"]] == ["Dishwasher safe", "300 ml"]
    assert attributes["main_product_image_locator"][0]["media_location"].endswith("mug.jpg")
    assert attributes["other_product_image_locator_1"][0]["media_location"].endswith("mug-2.jpg")
    assert attributes["condition_type"] == [{"value": "new_new", "marketplace_id": MARKETPLACE}]


def test_identifier_type_follows_the_gtin_length() -> None:
    assert mapping.product_identifier("036000291452")["type"] == "upc"
    assert mapping.product_identifier("10012345678902")["type"] == "gtin"
    with pytest.raises(ValueError, match="check digit"):
        mapping.product_identifier("4006381333932")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"brand": None}, "no brand"),
        ({"title": "  "}, "no title"),
        ({"gtin": None}, "no GTIN"),
    ],
)
def test_listing_without_what_amazon_requires_says_what(
    overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        mapping.content_attributes(listing("MUG-1", **overrides), WHERE)


def test_put_body_has_offer_and_quantity_or_is_product_only() -> None:
    priced = listing("MUG-1", price=ChannelPrice("MUG-1", Decimal("12.95"), "EUR", Decimal("15")))
    body = mapping.put_body(priced, WHERE, 7)
    assert (body["productType"], body["requirements"]) == ("HOME", "LISTING")
    offer = body["attributes"]["purchasable_offer"][0]
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": 12.95}]}]
    assert offer["currency"] == "EUR"
    assert body["attributes"]["list_price"][0]["value_with_tax"] == 15.0
    assert body["attributes"]["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 7}
    ]
    held = mapping.put_body(listing("MUG-1", on_hold=True), WHERE, 0)
    assert held["requirements"] == "LISTING_PRODUCT_ONLY"
    assert "purchasable_offer" not in held["attributes"]
    typed = listing("MUG-1", attributes={"amazon_product_type": "DRINKING_CUP"})
    assert mapping.put_body(typed, WHERE, 0)["productType"] == "DRINKING_CUP"


def test_patches_replace_whole_attributes_and_hold_removes_the_offer() -> None:
    patches = mapping.listing_patches(listing("MUG-1"), WHERE)
    paths = {p["path"]: p["op"] for p in patches}
    assert paths["/attributes/item_name"] == "replace"
    assert paths["/attributes/purchasable_offer"] == "replace"
    held = mapping.listing_patches(listing("MUG-1", on_hold=True), WHERE)
    assert {"op": "delete", "path": "/attributes/purchasable_offer"}.items() <= held[-1].items()
    assert mapping.stock_patches(StockLevel("MUG-1", -3))[0]["value"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 0}
    ]


def test_feed_document_follows_the_listings_feed_schema() -> None:
    work = [
        ("MUG-1", "HOME", mapping.stock_patches(StockLevel("MUG-1", 4))),
        (
            "MUG-2",
            "DRINKING_CUP",
            mapping.price_patches(ChannelPrice("MUG-2", Decimal("9.5"), "EUR"), WHERE),
        ),
    ]
    document = mapping.feed_document("A2SELLER", work)
    jsonschema.validate(document, spec("listings-feed-schema-v2.json"))
    for message in document["messages"]:
        jsonschema.validate(message, spec("listings-feed-message-schema-v2.json"))
    assert [(m["messageId"], m["sku"], m["productType"]) for m in document["messages"]] == [
        (1, "MUG-1", "HOME"),
        (2, "MUG-2", "DRINKING_CUP"),
    ]


def test_report_problems_name_sku_and_message() -> None:
    report = spec("listings-feed-processing-report-schema-v2.example.json")
    problems = mapping.report_problems(report, {})
    assert [(p.message_id, p.sku) for p in problems] == [
        (4, "My-SKU-B"),
        (4, "My-SKU-B"),
        (5, "My-SKU-C"),
    ]
    assert "batteries_required" in problems[0].message
    assert problems[2].message.endswith("[purchasable_offer.our_price]")
    # A report issue without the SKU is named from the feed's own messages.
    found = mapping.report_problems(
        {"issues": [{"messageId": 2, "severity": "ERROR", "message": "bad"}]}, {2: "MUG-2"}
    )
    assert found[0].sku == "MUG-2"
    warning = {"issues": [{"messageId": 1, "severity": "WARNING", "message": "meh"}]}
    assert mapping.report_problems(warning, {}) == []


ORDER = {
    "AmazonOrderId": "302-1234567-7654321",
    "PurchaseDate": "2026-11-20T10:00:00Z",
    "LastUpdateDate": "2026-11-20T10:05:00Z",
    "OrderStatus": "Unshipped",
    "OrderTotal": {"CurrencyCode": "EUR", "Amount": "29.90"},
    "BuyerInfo": {"BuyerEmail": "5vlh04mgfmjh9h5@marketplace.amazon.de", "BuyerName": "Ann"},
    "ShippingAddress": {
        "Name": "Ann Example",
        "CompanyName": "Example GmbH",
        "AddressLine1": "Hauptstraße 1",
        "AddressLine2": "Hinterhaus",
        "City": "Berlin",
        "PostalCode": "10115",
        "StateOrRegion": "BE",
        "CountryCode": "DE",
        "Phone": "+49301234567",
    },
}
ITEM = {
    "ASIN": "B000000001",
    "SellerSKU": "MUG-1",
    "OrderItemId": "68828574383266",
    "QuantityOrdered": 2,
    "ItemPrice": {"CurrencyCode": "EUR", "Amount": "25.90"},
    "ItemTax": {"CurrencyCode": "EUR", "Amount": "4.14"},
    "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "1.00"},
}


def test_order_from_amazon_keeps_the_pseudonymous_buyer_apart() -> None:
    order = mapping.order_from_amazon(ORDER, [ITEM])
    assert order.external_id == "302-1234567-7654321"
    assert order.customer_email is None
    assert order.customer_external_id == "5vlh04mgfmjh9h5@marketplace.amazon.de"
    assert (order.customer_name, order.currency) == ("Ann", "EUR")
    assert order.created_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    [line] = order.lines
    assert (line.external_line_id, line.sku, line.quantity) == ("68828574383266", "MUG-1", 2)
    assert (line.unit_price, line.discount, line.tax) == (
        Decimal("12.95"),
        Decimal("1.00"),
        Decimal("4.14"),
    )
    address = order.shipping_address
    assert address is not None
    assert (address.name, address.line2, address.region, address.country) == (
        "Ann Example / Example GmbH",
        "Hinterhaus",
        "BE",
        "DE",
    )
    assert address.email is None and order.is_paid and not order.cancelled


def test_order_states() -> None:
    assert not mapping.is_ready(ORDER | {"OrderStatus": "Pending"})
    assert not mapping.is_ready(ORDER | {"OrderStatus": "PendingAvailability"})
    cancelled = mapping.order_from_amazon(ORDER | {"OrderStatus": "Canceled"}, [ITEM])
    assert cancelled.cancelled
    # A cancelled line ordered nothing: no division by zero, the price stays as given.
    empty = mapping.order_from_amazon(ORDER, [ITEM | {"QuantityOrdered": 0}])
    assert empty.lines[0].unit_price == Decimal("25.90")


def test_confirm_shipment_body_follows_the_v0_schema() -> None:
    fulfilment = Fulfilment(
        "302-1234567-7654321",
        (FulfilmentLine("68828574383266", "MUG-1", 2),),
        tracking_number="1Z999",
    )
    body = mapping.confirm_shipment_body(
        fulfilment,
        MARKETPLACE,
        default_carrier="Other",
        default_carrier_name="PostNL",
        shipped_at=datetime(2026, 11, 21, 9, tzinfo=UTC),
    )
    package = body["packageDetail"]
    assert (package["carrierCode"], package["carrierName"]) == ("Other", "PostNL")
    assert package["shipDate"] == "2026-11-21T09:00:00Z"
    assert package["orderItems"] == [{"orderItemId": "68828574383266", "quantity": 2}]
    assert package["packageReferenceId"] == mapping.package_reference(fulfilment)
    definitions = spec("ordersV0.json")["definitions"]
    jsonschema.validate(
        body, {"$ref": "#/definitions/ConfirmShipmentRequest", "definitions": definitions}
    )
    named = Fulfilment(fulfilment.external_order_id, fulfilment.lines, carrier="DHL")
    named_body = mapping.confirm_shipment_body(
        named,
        MARKETPLACE,
        default_carrier="Other",
        default_carrier_name="PostNL",
        shipped_at=datetime(2026, 11, 21, 9, tzinfo=UTC),
    )
    assert "carrierName" not in named_body["packageDetail"]
    assert named_body["packageDetail"]["carrierCode"] == "DHL"


def test_listing_bodies_follow_the_listings_items_model() -> None:
    definitions = spec("listingsItems_2021-08-01.json")["definitions"]
    put = mapping.put_body(listing("MUG-1"), WHERE, 3)
    jsonschema.validate(
        put, {"$ref": "#/definitions/ListingsItemPutRequest", "definitions": definitions}
    )
    patch = {"productType": "HOME", "patches": mapping.listing_patches(listing("MUG-1"), WHERE)}
    jsonschema.validate(
        patch, {"$ref": "#/definitions/ListingsItemPatchRequest", "definitions": definitions}
    )
