"""Mapping both ways, without HTTP: listings to product and variation bodies, prices to
strings, WooCommerce orders to the hub's ChannelOrder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from channelhub.connectors.base import (
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    PermanentError,
)
from channelhub.connectors.woocommerce import WooCommerceConfig
from channelhub.connectors.woocommerce.mapping import (
    fulfilment_note,
    group_listings,
    money,
    order_from_woo,
    price_fields,
    simple_product,
    variable_product,
    variation,
)


def woo_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 727,
        "status": "processing",
        "currency": "EUR",
        "date_created_gmt": "2026-11-20T10:00:00",
        "date_modified_gmt": "2026-11-20T10:05:00",
        "customer_id": 26,
        "billing": {
            "first_name": "John",
            "last_name": "Doe",
            "address_1": "969 Market",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94103",
            "country": "US",
            "email": "john.doe@example.com",
            "phone": "(555) 555-5555",
        },
        "shipping": {
            "first_name": "John",
            "last_name": "Doe",
            "address_1": "969 Market",
            "address_2": "Suite 2",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94103",
            "country": "US",
        },
        "date_paid_gmt": "2026-11-20T10:00:01",
        "line_items": [
            {
                "id": 315,
                "name": "Woo Single #1",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "6.00",
                "total": "5.00",
                "total_tax": "0.45",
                "sku": "MUG-1",
                "price": 2.5,
            }
        ],
    }
    order.update(changes)
    return order


def test_an_order_maps_lines_addresses_customer_and_payment() -> None:
    order = order_from_woo(woo_order())
    assert order.external_id == "727"
    assert order.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    [line] = order.lines
    assert (line.external_line_id, line.sku, line.quantity) == ("315", "MUG-1", 2)
    assert (line.unit_price, line.discount, line.tax) == (
        Decimal(3),
        Decimal("1.00"),
        Decimal("0.45"),
    )
    assert order.customer_email == "john.doe@example.com"
    assert order.customer_name == "John Doe"
    assert order.customer_external_id == "26"
    assert order.shipping_address is not None and order.shipping_address.line2 == "Suite 2"
    assert order.shipping_address.country == "US" and order.shipping_address.region == "CA"
    assert order.billing_address is not None and order.billing_address.phone == "(555) 555-5555"
    assert order.is_paid and not order.cancelled


@pytest.mark.parametrize(
    ("status", "paid_at", "is_paid", "cancelled"),
    [
        ("processing", "2026-11-20T10:00:01", True, False),
        ("completed", "2026-11-20T10:00:01", True, False),
        ("pending", None, False, False),
        ("on-hold", None, False, False),
        ("cancelled", None, False, True),
        ("refunded", "2026-11-20T10:00:01", True, True),
        ("failed", None, False, True),
    ],
)
def test_order_status_becomes_payment_and_cancellation(
    status: str, paid_at: str | None, is_paid: bool, cancelled: bool
) -> None:
    order = order_from_woo(woo_order(status=status, date_paid_gmt=paid_at))
    assert (order.is_paid, order.cancelled) == (is_paid, cancelled)


def test_a_guest_order_has_no_customer_id_and_a_line_may_lack_its_sku() -> None:
    assert order_from_woo(woo_order(customer_id=0)).customer_external_id is None
    line = {**woo_order()["line_items"][0], "sku": None}  # its product was deleted
    assert order_from_woo(woo_order(line_items=[line])).lines[0].sku == ""


def test_an_unreadable_amount_names_the_order_and_line() -> None:
    line = {**woo_order()["line_items"][0], "total_tax": "lots"}
    with pytest.raises(PermanentError, match="tax of order 727 line 315"):
        order_from_woo(woo_order(line_items=[line]))


def test_prices_are_strings_and_a_lower_price_is_a_sale() -> None:
    assert price_fields(ChannelPrice("A", Decimal("12.5"), "EUR")) == {
        "regular_price": "12.50",
        "sale_price": "",
    }
    assert price_fields(ChannelPrice("A", Decimal("9.99"), "EUR", Decimal("12.95"))) == {
        "regular_price": "12.95",
        "sale_price": "9.99",
    }
    assert money(Decimal("3")) == "3.00" and money(Decimal("0.125")) == "0.125"


def test_a_simple_listing_becomes_a_simple_product() -> None:
    listing = Listing(
        "MUG-1",
        "Mug",
        "<p>Stoneware</p>",
        brand="Hearth",
        gtin="8712345678906",
        images=("https://img.test/1.jpg", "https://img.test/1.jpg"),
        on_hold=True,
        price=ChannelPrice("MUG-1", Decimal("12.95"), "EUR"),
    )
    body = simple_product(listing)
    assert body["sku"] == "MUG-1" and body["type"] == "simple" and body["name"] == "Mug"
    assert body["status"] == "draft"  # on hold: not for sale
    assert body["images"] == [{"src": "https://img.test/1.jpg"}]
    assert {"key": "gtin", "value": "8712345678906"} in body["meta_data"]
    assert body["regular_price"] == "12.95"
    assert "stock_quantity" not in body  # stock travels with its own jobs


def test_variants_become_a_variable_product_with_variations() -> None:
    red = Listing("TEE-R", "Tee red", parent_sku="TEE", options={"Color": "red"})
    blue = Listing("TEE-B", "Tee blue", parent_sku="TEE", options={"Color": "blue"})
    parent = Listing("TEE", "Tee")
    simple, groups = group_listings([parent, red, blue, Listing("MUG-1", "Mug")])
    assert [x.sku for x in simple] == ["MUG-1"]
    [group] = groups
    body = variable_product(group, {"Color": ["green"]})
    assert body["type"] == "variable" and body["sku"] == "TEE" and body["name"] == "Tee"
    assert body["attributes"] == [
        {"name": "Color", "options": ["green", "red", "blue"], "variation": True, "visible": True}
    ]
    assert variation(red, ["Color"])["attributes"] == [{"name": "Color", "option": "red"}]
    with pytest.raises(PermanentError, match="TEE-R has no value for option 'Size'"):
        variation(red, ["Color", "Size"])


def test_the_fulfilment_note_carries_the_tracking() -> None:
    note = fulfilment_note(
        Fulfilment(
            "727",
            (FulfilmentLine("315", "MUG-1", 2),),
            carrier="PostNL",
            tracking_number="3S123",
            tracking_url="https://t.test/3S123",
        )
    )
    assert note == "Shipped with PostNL, tracking number 3S123 (https://t.test/3S123): 2 x MUG-1."


def test_the_configuration_wants_https_except_on_loopback() -> None:
    base = {"consumer_key": "ck_1", "consumer_secret": "cs_1"}
    assert (
        WooCommerceConfig(store_url="https://shop.test/", **base).store_url == "https://shop.test"
    )
    assert WooCommerceConfig(store_url="http://127.0.0.1:9000", **base)
    with pytest.raises(ValidationError, match="only on HTTPS"):
        WooCommerceConfig(store_url="http://shop.test", **base)
