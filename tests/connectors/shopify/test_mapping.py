"""Mapping both ways: listings to productSet inputs, Shopify orders to ChannelOrders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from channelhub.connectors.base import ChannelPrice, Listing, PermanentError
from channelhub.connectors.shopify.mapping import (
    group_listings,
    handle_for,
    order_from_graphql,
    order_from_webhook,
    product_set_input,
)


def test_a_listing_without_parent_is_a_product_with_the_default_option() -> None:
    listing = Listing(
        sku="MUG-1", title="Mug", description="<p>Blue</p>", brand="Acme", gtin="8712345678906"
    )
    [group] = group_listings([listing])
    product = product_set_input(group)
    assert group.handle == "mug-1"
    assert product["title"] == "Mug"
    assert product["vendor"] == "Acme"
    assert product["status"] == "ACTIVE"
    assert product["productOptions"] == [{"name": "Title", "values": [{"name": "Default Title"}]}]
    assert product["variants"] == [
        {
            "optionValues": [{"optionName": "Title", "name": "Default Title"}],
            "sku": "MUG-1",
            "inventoryItem": {"tracked": True},
            "barcode": "8712345678906",
        }
    ]
    assert "price" not in product["variants"][0]  # the listing carries no price


def test_variants_share_their_parent_product_and_its_options() -> None:
    listings = [
        Listing(sku="TEE", title="T-shirt", description="Cotton"),
        Listing(
            sku="TEE-S-RED",
            title="T-shirt S red",
            parent_sku="TEE",
            options={"Size": "S", "Colour": "Red"},
        ),
        Listing(
            sku="TEE-M-RED",
            title="T-shirt M red",
            parent_sku="TEE",
            options={"Size": "M", "Colour": "Red"},
        ),
    ]
    groups = group_listings(listings)
    assert [g.handle for g in groups] == ["tee"]
    product = product_set_input(groups[0])
    assert product["title"] == "T-shirt"
    assert product["productOptions"] == [
        {"name": "Size", "values": [{"name": "S"}, {"name": "M"}]},
        {"name": "Colour", "values": [{"name": "Red"}]},
    ]
    assert [v["sku"] for v in product["variants"]] == ["TEE-S-RED", "TEE-M-RED"]
    assert product["variants"][1]["optionValues"] == [
        {"optionName": "Size", "name": "M"},
        {"optionName": "Colour", "name": "Red"},
    ]


def test_variants_without_options_to_tell_them_apart_are_refused() -> None:
    listings = [
        Listing(sku="A", title="A", parent_sku="P"),
        Listing(sku="B", title="B", parent_sku="P"),
    ]
    with pytest.raises(PermanentError, match="no options"):
        product_set_input(group_listings(listings)[0])


def test_on_hold_listings_become_drafts_and_handles_are_slugs() -> None:
    [group] = group_listings([Listing(sku="Mug 1/Blue", title="Mug", on_hold=True)])
    assert product_set_input(group)["status"] == "DRAFT"
    assert handle_for("Mug 1/Blue") == "mug-1-blue"


def _money(amount: str) -> dict[str, object]:
    return {"shopMoney": {"amount": amount, "currencyCode": "EUR"}}


GRAPHQL_ORDER = {
    "id": "gid://shopify/Order/1001",
    "name": "#1001",
    "email": "ada@example.com",
    "createdAt": "2026-01-10T09:00:00Z",
    "updatedAt": "2026-01-10T09:05:00Z",
    "cancelledAt": None,
    "currencyCode": "EUR",
    "displayFinancialStatus": "PAID",
    "customer": {
        "id": "gid://shopify/Customer/7",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "defaultEmailAddress": {"emailAddress": "ada@example.com"},
    },
    "shippingAddress": {
        "name": "Ada Lovelace",
        "address1": "Damrak 1",
        "address2": None,
        "zip": "1012 LG",
        "city": "Amsterdam",
        "provinceCode": None,
        "countryCodeV2": "NL",
        "phone": None,
    },
    "billingAddress": None,
}
GRAPHQL_LINES = [
    {
        "id": "gid://shopify/LineItem/5",
        "sku": "MUG-1",
        "quantity": 2,
        "currentQuantity": 2,
        "originalUnitPriceSet": _money("12.50"),
        "totalDiscountSet": _money("1.00"),
        "taxLines": [{"priceSet": _money("4.17")}],
    }
]


def test_a_polled_order_maps_to_a_channel_order() -> None:
    order = order_from_graphql(GRAPHQL_ORDER, GRAPHQL_LINES)
    assert order.external_id == "gid://shopify/Order/1001"
    assert order.created_at == datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    assert order.currency == "EUR"
    assert order.customer_name == "Ada Lovelace"
    assert order.customer_external_id == "gid://shopify/Customer/7"
    assert order.is_paid and not order.cancelled
    assert order.shipping_address is not None and order.shipping_address.country == "NL"
    [line] = order.lines
    assert (line.external_line_id, line.sku, line.quantity) == (
        "gid://shopify/LineItem/5",
        "MUG-1",
        2,
    )
    assert (line.unit_price, line.discount, line.tax) == (
        Decimal("12.50"),
        Decimal("1.00"),
        Decimal("4.17"),
    )


WEBHOOK_ORDER = {
    "id": 1001,
    "admin_graphql_api_id": "gid://shopify/Order/1001",
    "email": "ada@example.com",
    "created_at": "2026-01-10T10:00:00+01:00",
    "updated_at": "2026-01-10T10:05:00+01:00",
    "cancelled_at": None,
    "currency": "EUR",
    "financial_status": "paid",
    "customer": {
        "id": 7,
        "admin_graphql_api_id": "gid://shopify/Customer/7",
        "first_name": "Ada",
        "last_name": "Lovelace",
    },
    "shipping_address": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "address1": "Damrak 1",
        "zip": "1012 LG",
        "city": "Amsterdam",
        "country_code": "NL",
    },
    "line_items": [
        {
            "id": 5,
            "admin_graphql_api_id": "gid://shopify/LineItem/5",
            "sku": "MUG-1",
            "quantity": 2,
            "current_quantity": 2,
            "price": "12.50",
            "total_discount": "1.00",
            "tax_lines": [{"price": "4.17", "rate": 0.21}],
        }
    ],
}


def test_a_webhook_order_maps_to_the_same_channel_order_as_a_polled_one() -> None:
    from_webhook = order_from_webhook(WEBHOOK_ORDER)
    from_poll = order_from_graphql(GRAPHQL_ORDER, GRAPHQL_LINES)
    assert from_webhook.external_id == from_poll.external_id
    assert from_webhook.lines == from_poll.lines
    assert from_webhook.created_at == from_poll.created_at
    assert from_webhook.customer_external_id == from_poll.customer_external_id
    assert from_webhook.shipping_address == from_poll.shipping_address


def test_an_unreadable_webhook_order_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="unreadable"):
        order_from_webhook({"id": 1})
    with pytest.raises(PermanentError):
        order_from_webhook({**WEBHOOK_ORDER, "line_items": [{"id": 1, "price": "abc"}]})


def test_a_tax_inclusive_order_counts_the_price_before_tax_and_totals_what_was_paid() -> None:
    """Shopify's unit price holds the VAT when ``taxesIncluded``; the hub adds the tax on top,
    so it takes it out: 2 x 12.50 less 1.00 discount is 24.00 paid, VAT 4.17 included."""
    polled = order_from_graphql({**GRAPHQL_ORDER, "taxesIncluded": True}, GRAPHQL_LINES)
    webhooked = order_from_webhook({**WEBHOOK_ORDER, "taxes_included": True})
    assert polled.lines == webhooked.lines
    [line] = polled.lines
    assert (line.unit_price, line.discount, line.tax) == (
        Decimal("10.42"),
        Decimal("1.00"),
        Decimal("4.16"),  # 4.17 less the cent the unit price's rounding kept
    )
    assert line.unit_price * line.quantity - line.discount + line.tax == Decimal("24.00")
    # Without taxesIncluded (a US shop) the tax is added on top: the price stays as it is.
    [added] = order_from_graphql({**GRAPHQL_ORDER, "taxesIncluded": False}, GRAPHQL_LINES).lines
    assert (added.unit_price, added.tax) == (Decimal("12.50"), Decimal("4.17"))


def _tee(sku: str, colour: str, price: str | None = None) -> Listing:
    return Listing(
        sku=sku,
        title=f"Tee {colour}",
        parent_sku="TEE",
        gtin=None,
        options={"Colour": colour},
        price=None if price is None else ChannelPrice(sku, Decimal(price), "EUR", Decimal("30")),
    )


def test_a_model_sent_with_its_variants_is_one_product_however_often_it_comes() -> None:
    red, black = _tee("TEE-RED", "Red", "24.95"), _tee("TEE-BLK", "Black")
    model = Listing(sku="TEE", title="Organic tee", variants=(red, black))
    # The engine sends the model for each variant's job: twice here, with a stray variant.
    [group] = group_listings([model, model, red])
    assert (group.handle, group.parent.title, group.variants) == (
        "tee",
        "Organic tee",
        (red, black),
    )
    product = product_set_input(group, "EUR")
    assert product["productOptions"] == [
        {"name": "Colour", "values": [{"name": "Red"}, {"name": "Black"}]}
    ]
    first, second = product["variants"]
    assert (first["sku"], first["price"], first["compareAtPrice"]) == ("TEE-RED", "24.95", "30.00")
    assert "price" not in second  # no price known: Shopify keeps the one it has
    assert "price" not in product_set_input(group, "USD")["variants"][0]  # another currency


def test_more_than_three_options_are_refused_with_the_names() -> None:
    options = {"Colour": "Red", "Size": "S", "Fit": "Slim", "Sleeve": "Long"}
    variant = Listing(sku="TEE-1", title="Tee", parent_sku="TEE", options=options)
    with pytest.raises(PermanentError, match=r"4 options .*Colour, Size, Fit, Sleeve.* at most 3"):
        product_set_input(group_listings([variant])[0])
