"""Mapping both ways and error messages, without HTTP."""

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
    StockLevel,
)
from channelhub.connectors.magento import MagentoConfig
from channelhub.connectors.magento.client import error_detail, render, search_params
from channelhub.connectors.magento.mapping import (
    base_price,
    carrier_track,
    order_from_magento,
    product_body,
    source_item,
)


def magento_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "entity_id": 42,
        "increment_id": "000000042",
        "state": "processing",
        "created_at": "2026-11-20 10:00:00",
        "updated_at": "2026-11-20 10:05:00",
        "order_currency_code": "EUR",
        "customer_email": "jane@example.com",
        "customer_firstname": "Jane",
        "customer_lastname": "Doe",
        "customer_id": 7,
        "customer_is_guest": 0,
        "grand_total": 30.25,
        "total_paid": 30.25,
        "items": [
            {
                "item_id": 1,
                "sku": "MUG-1",
                "qty_ordered": 2,
                "price": 12.5,
                "tax_amount": 5.25,
                "discount_amount": 1,
                "product_type": "simple",
            },
            {
                "item_id": 2,
                "sku": "TEE-R",
                "qty_ordered": 1,
                "price": 0,
                "parent_item_id": 3,
                "product_type": "simple",
            },
            {
                "item_id": 3,
                "sku": "TEE-R",
                "qty_ordered": 1,
                "price": 19.99,
                "product_type": "configurable",
            },
        ],
        "billing_address": {
            "address_type": "billing",
            "firstname": "Jane",
            "lastname": "Doe",
            "street": ["Keizersgracht 1", "2nd floor"],
            "city": "Amsterdam",
            "postcode": "1015 CJ",
            "country_id": "NL",
            "telephone": "+31201234567",
        },
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {
                        "address": {
                            "address_type": "shipping",
                            "firstname": "Piet",
                            "lastname": "Jansen",
                            "street": ["Dam 1"],
                            "city": "Amsterdam",
                            "postcode": "1012 JS",
                            "region_code": "NH",
                            "country_id": "NL",
                            "telephone": "+31200000000",
                        }
                    },
                    "items": [],
                }
            ]
        },
    }
    order.update(changes)
    return order


def test_an_order_maps_items_addresses_and_customer() -> None:
    order = order_from_magento(magento_order())
    assert order.external_id == "42"
    assert order.created_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    # The configurable's child item (parent_item_id) is skipped; its parent carries the SKU.
    assert [(x.external_line_id, x.sku, x.quantity, x.unit_price) for x in order.lines] == [
        ("1", "MUG-1", 2, Decimal("12.5")),
        ("3", "TEE-R", 1, Decimal("19.99")),
    ]
    assert (order.lines[0].discount, order.lines[0].tax) == (Decimal(1), Decimal("5.25"))
    assert order.customer_name == "Jane Doe" and order.customer_external_id == "7"
    assert order.billing_address is not None
    assert (order.billing_address.line1, order.billing_address.line2) == (
        "Keizersgracht 1",
        "2nd floor",
    )
    assert order.shipping_address is not None and order.shipping_address.name == "Piet Jansen"
    assert (
        order.shipping_address.region == "NH" and order.shipping_address.email == "jane@example.com"
    )
    assert order.is_paid and not order.cancelled


@pytest.mark.parametrize(
    ("state", "paid", "is_paid", "cancelled"),
    [
        ("new", 0, False, False),
        ("pending_payment", 0, False, False),
        ("processing", 30.25, True, False),
        ("complete", 30.25, True, False),
        ("canceled", 0, False, True),
        ("closed", 30.25, True, True),
    ],
)
def test_order_state_becomes_payment_and_cancellation(
    state: str, paid: float, is_paid: bool, cancelled: bool
) -> None:
    order = order_from_magento(magento_order(state=state, total_paid=paid))
    assert (order.is_paid, order.cancelled) == (is_paid, cancelled)


def test_a_guest_has_no_customer_id_and_bad_data_names_the_item() -> None:
    assert (
        order_from_magento(
            magento_order(customer_is_guest=1, customer_id=None)
        ).customer_external_id
        is None
    )
    items = [{"item_id": 9, "sku": "MUG-1", "qty_ordered": "two"}]
    with pytest.raises(PermanentError, match="quantity of order 42 item 9"):
        order_from_magento(magento_order(items=items))


def test_error_placeholders_are_rendered_by_position_and_by_name() -> None:
    assert (
        render('The "%1" attribute value is empty.', ["name"])
        == 'The "name" attribute value is empty.'
    )
    assert render('"%fieldName" is required.', {"fieldName": "sku"}) == '"sku" is required.'
    assert render("%1 of %2 (%3)", ["a", "b"]) == "a of b (%3)"
    assert render("%fieldName is wrong", [{"fieldName": "price"}]) == "price is wrong"
    body = {
        "message": "Validation Failed",
        "errors": [
            {"message": 'Product with SKU "%sku" does not exist.', "parameters": {"sku": "X-1"}}
        ],
    }
    assert error_detail(body) == 'Validation Failed: Product with SKU "X-1" does not exist.'
    assert error_detail({"unexpected": True}) == "{'unexpected': True}"


def test_listing_stock_price_and_tracking_bodies() -> None:
    listing = Listing(
        "TEE-R",
        "Tee red",
        "Cotton",
        gtin="8712345678906",
        parent_sku="TEE",
        on_hold=True,
        price=ChannelPrice("TEE-R", Decimal("19.99"), "EUR"),
    )
    body = product_body(
        listing,
        type_id="simple",
        attribute_set_id=4,
        website_ids=(1,),
        gtin_attribute="ean",
        creating=True,
    )["product"]
    assert (body["sku"], body["name"], body["type_id"]) == ("TEE-R", "Tee red", "simple")
    assert (body["status"], body["visibility"], body["price"]) == (2, 1, 19.99)
    assert {"attribute_code": "ean", "value": "8712345678906"} in body["custom_attributes"]
    assert {"attribute_code": "description", "value": "Cotton"} in body["custom_attributes"]
    update = product_body(
        listing,
        type_id="simple",
        attribute_set_id=4,
        website_ids=(1,),
        gtin_attribute=None,
        creating=False,
    )["product"]
    assert "price" not in update  # prices travel with their own jobs
    assert source_item(StockLevel("A", -3), "ams") == {
        "sku": "A",
        "source_code": "ams",
        "quantity": 0,
        "status": 0,
    }
    assert base_price(ChannelPrice("A", Decimal("9.95"), "EUR"), 0) == {
        "sku": "A",
        "price": 9.95,
        "store_id": 0,
    }
    tracks = carrier_track(Fulfilment("42", (FulfilmentLine("1", "A", 1),), "UPS", "1Z9"))
    assert tracks == [{"track_number": "1Z9", "title": "UPS", "carrier_code": "ups"}]
    other = carrier_track(Fulfilment("42", (), "PostNL", "3S1"))
    assert other[0]["carrier_code"] == "custom" and carrier_track(Fulfilment("42", ())) == []


def test_search_criteria_use_one_group_per_filter() -> None:
    params = dict(
        search_params(
            [("updated_at", "2026-11-20 10:00:00", "gt")],
            sort=("updated_at", "ASC"),
            page_size=50,
            current_page=2,
        )
    )
    assert params == {
        "searchCriteria[filter_groups][0][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][0][filters][0][value]": "2026-11-20 10:00:00",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gt",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": "50",
        "searchCriteria[currentPage]": "2",
    }


def test_the_configuration_needs_credentials_and_https() -> None:
    assert MagentoConfig(base_url="https://m.test/", access_token="t").base_url == "https://m.test"
    assert MagentoConfig(base_url="https://m.test", username="admin", password="pw")
    with pytest.raises(ValidationError, match="give access_token, or username and password"):
        MagentoConfig(base_url="https://m.test")
    with pytest.raises(ValidationError, match="only over HTTPS"):
        MagentoConfig(base_url="http://m.test", access_token="t")
    with pytest.raises(ValidationError, match="store view code"):
        MagentoConfig(base_url="https://m.test", access_token="t", store_code="../admin")
