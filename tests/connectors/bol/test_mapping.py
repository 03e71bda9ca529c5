"""Mapping between bol.com documents and the hub's values, both ways (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from channelhub.connectors.base import Cancellation, Fulfilment, FulfilmentLine, Listing
from channelhub.connectors.bol import mapping
from channelhub.connectors.bol.mapping import Offer, OfferTerms

TERMS = OfferTerms("FBR", 1, 2, "16:00", "eo-1", ("NL", "BE"))
OFFER = Offer("o-1", "8712345678906", "SKU-1", False, 5, Decimal("9.99"), "Mug", "eo-1")


def test_create_offer_body_carries_sku_as_reference_and_clamps_stock() -> None:
    listing = Listing(sku="SKU-1", title="Mug", gtin="8712345678906", on_hold=True)
    body = mapping.create_offer_body(listing, "8712345678906", TERMS, Decimal("9.990"), 1500)
    assert body["reference"] == "SKU-1"
    assert body["onHoldByRetailer"] is True
    assert body["stock"] == {"amount": 999, "managedByRetailer": True}
    assert body["pricing"] == {"bundlePrices": [{"quantity": 1, "unitPrice": 9.99}]}
    assert body["fulfilment"] == {
        "method": "FBR",
        "deliveryPromise": {
            "minimumDaysToCustomer": 1,
            "maximumDaysToCustomer": 2,
            "ultimateOrderTime": "16:00",
        },
    }
    assert body["countryAvailabilities"] == [{"countryCode": "NL"}, {"countryCode": "BE"}]
    assert body["economicOperatorId"] == "eo-1"


def test_fbb_offers_carry_no_delivery_promise() -> None:
    terms = OfferTerms("FBB", 1, 2, None, None, ("NL",))
    assert mapping.fulfilment_body(terms) == {"method": "FBB"}


def test_clamp_stock_says_so() -> None:
    assert mapping.clamp_stock(5) == (5, "")
    assert mapping.clamp_stock(1000)[0] == 999
    assert "999" in mapping.clamp_stock(1000)[1]
    assert mapping.clamp_stock(-3) == (0, "negative stock -3 sent as 0")


def test_patches_send_only_what_changed() -> None:
    assert mapping.stock_patch(OFFER, 5) is None
    assert mapping.stock_patch(OFFER, 7) == {"stock": {"amount": 7, "managedByRetailer": True}}
    assert mapping.price_patch(OFFER, Decimal("9.99")) is None
    assert mapping.price_patch(OFFER, Decimal("10")) == {
        "pricing": {"bundlePrices": [{"quantity": 1, "unitPrice": 10.0}]}
    }
    same = Listing(sku="SKU-1", title="Mug", gtin="8712345678906")
    assert mapping.listing_patch(same, OFFER, TERMS) == {}
    held = Listing(sku="SKU-1", title="Big mug", gtin="8712345678906", on_hold=True)
    assert mapping.listing_patch(held, OFFER, TERMS) == {
        "onHoldByRetailer": True,
        "unknownProductTitle": "Big mug",
    }
    changed = mapping.with_changes(OFFER, {"stock": {"amount": 7}, "onHoldByRetailer": True})
    assert (changed.stock, changed.on_hold, changed.price) == (7, True, Decimal("9.99"))


def test_offer_from_bol_reads_stock_and_unit_price() -> None:
    offer = mapping.offer_from_bol(
        {
            "offerId": "o-2",
            "ean": "8712345678906",
            "reference": "SKU-2",
            "onHoldByRetailer": False,
            "stock": {"amount": 3, "correctedStock": 2, "managedByRetailer": True},
            "pricing": {
                "bundlePrices": [
                    {"quantity": 1, "unitPrice": 12.5},
                    {"quantity": 3, "unitPrice": 11},
                ]
            },
        }
    )
    assert (offer.stock, offer.price, offer.reference) == (3, Decimal("12.50"), "SKU-2")


BOL_ORDER = {
    "orderId": "A2K8290LP8",
    "pickupPoint": True,
    "orderPlacedDateTime": "2017-02-09T12:39:48+01:00",
    "shipmentDetails": {
        "pickupPointName": "Albert Heijn: UTRECHT",
        "salutation": "MALE",
        "firstName": "Billie",
        "surname": "Jansen",
        "streetName": "Dorpstraat",
        "houseNumber": "1",
        "houseNumberExtension": "B",
        "zipCode": "1111ZZ",
        "city": "Utrecht",
        "countryCode": "NL",
        "email": "billie@verkopen.bol.com",
        "deliveryPhoneNumber": "012123456",
    },
    "billingDetails": {
        "salutation": "MALE",
        "firstName": "Billie",
        "surname": "Jansen",
        "streetName": "Dorpstraat",
        "houseNumber": "1",
        "zipCode": "1111ZZ",
        "city": "Utrecht",
        "countryCode": "NL",
        "email": "billie@verkopen.bol.com",
        "company": "bol.com",
    },
    "orderItems": [
        {
            "orderItemId": "2012345678",
            "cancellationRequest": False,
            "offer": {"offerId": "o-1", "reference": "SKU-1"},
            "product": {"ean": "8712345678906", "title": "Mug"},
            "quantity": 2,
            "quantityShipped": 0,
            "quantityCancelled": 0,
            "unitPrice": 12.99,
            "totalPrice": 20.98,
            "discounts": [{"title": "promo", "amount": 5}],
            "commission": 5.18,
            "latestChangedDateTime": "2017-02-09T13:39:48+01:00",
        },
        {
            "orderItemId": "2012345679",
            "cancellationRequest": False,
            "offer": None,
            "product": {"ean": "8712345678913", "title": "Cup"},
            "quantity": 1,
            "quantityShipped": 0,
            "quantityCancelled": 1,
            "unitPrice": 3,
            "totalPrice": 3,
            "discounts": [],
            "commission": 1,
            "latestChangedDateTime": "2017-02-09T12:39:48+01:00",
        },
    ],
}


def test_order_from_bol() -> None:
    order = mapping.order_from_bol(BOL_ORDER)
    assert order.external_id == "A2K8290LP8"
    assert order.currency == "EUR"
    assert order.created_at == datetime(2017, 2, 9, 11, 39, 48, tzinfo=UTC)
    assert order.updated_at == datetime(2017, 2, 9, 12, 39, 48, tzinfo=UTC)
    first, second = order.lines
    assert (first.sku, first.quantity, first.unit_price, first.discount) == (
        "SKU-1",
        2,
        Decimal("12.99"),
        Decimal(5),
    )
    assert second.sku == "8712345678913"  # no offer reference: the EAN stands in
    assert order.pickup_location == "Albert Heijn: UTRECHT"
    assert order.shipping_address is not None
    assert order.shipping_address.line1 == "Dorpstraat 1 B"
    assert order.shipping_address.phone == "012123456"
    assert (
        order.billing_address is not None
        and order.billing_address.name == "Billie Jansen / bol.com"
    )
    assert order.customer_email == "billie@verkopen.bol.com"
    assert order.cancelled is False  # one item still open


def test_shipment_and_cancellation_bodies() -> None:
    fulfilment = Fulfilment(
        "A1", (FulfilmentLine("2012345678", "SKU-1", 2),), carrier="PostNL", tracking_number="3S1"
    )
    assert mapping.shipment_body(fulfilment) == {
        "orderItems": [{"orderItemId": "2012345678", "quantity": 2}],
        "transport": {"transporterCode": "TNT", "trackAndTrace": "3S1"},
    }
    assert mapping.transporter_code("Some courier") == "OTHER"
    bodies = mapping.cancellation_bodies(Cancellation("A1", ("1", "2"), "out of stock"))
    assert bodies == [
        {"orderItems": [{"orderItemId": "1", "reasonCode": "OUT_OF_STOCK"}]},
        {"orderItems": [{"orderItemId": "2", "reasonCode": "OUT_OF_STOCK"}]},
    ]
    assert mapping.cancellation_reason("REQUESTED_BY_CUSTOMER") == "REQUESTED_BY_CUSTOMER"
    assert mapping.cancellation_reason("whatever") == "OTHER"


def test_describe_problem_names_violations() -> None:
    message = mapping.describe_problem(
        {
            "type": "https://api.bol.com/problems",
            "title": "Error validating request",
            "status": 400,
            "detail": "Bad request",
            "violations": [{"name": "pricing.bundlePrices[0].unitPrice", "reason": "Too high"}],
        },
        "",
    )
    assert message == (
        "Error validating request: Bad request (pricing.bundlePrices[0].unitPrice: Too high)"
    )
    assert mapping.describe_problem(None, "<html>gateway</html>") == "<html>gateway</html>"


def test_a_listing_carries_its_channel_price_for_a_new_offer() -> None:
    from decimal import Decimal

    import pytest

    from channelhub.connectors.base import ChannelPrice, Listing, PermanentError
    from channelhub.connectors.bol.connector import _listing_price

    euro = Listing("MUG-1", "Mug", price=ChannelPrice("MUG-1", Decimal("12.95"), "EUR"))
    assert _listing_price(euro) == Decimal("12.95")
    dollar = Listing("MUG-1", "Mug", price=ChannelPrice("MUG-1", Decimal("12.95"), "USD"))
    with pytest.raises(PermanentError, match="EUR only"):
        _listing_price(dollar)
