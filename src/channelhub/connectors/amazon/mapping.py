"""Mapping between the hub's values and SP-API documents, both ways (pure functions).

Listings follow the Listings Items API 2021-08-01 attribute shape: every attribute is a list
of objects carrying ``marketplace_id`` (and ``language_tag`` for text), as the product type
definitions describe. Feed documents follow the JSON_LISTINGS_FEED schema v2 and its
processing report schema v2; orders follow Orders API v0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from stdnum import ean as ean_check

from channelhub.connectors.base import (
    ChannelAddress,
    ChannelOrder,
    ChannelOrderLine,
    ChannelPrice,
    Fulfilment,
    Listing,
    StockLevel,
)
from channelhub.core.money import round_to

FULFILLMENT_CHANNEL = "DEFAULT"  # the seller's own (merchant-fulfilled) quantity
MAX_BULLET_POINTS = 5
MAX_OTHER_IMAGES = 8
#: Orders not yet payable: skipped until Amazon moves them to Unshipped.
NOT_READY = frozenset({"Pending", "PendingAvailability"})


@dataclass(frozen=True)
class Marketplace:
    """Where a listing's attribute values apply."""

    marketplace_id: str
    language_tag: str
    product_type: str
    condition_type: str


# --- listings ---------------------------------------------------------------------------------


def _text(value: str, where: Marketplace) -> list[dict[str, Any]]:
    return [
        {"value": value, "language_tag": where.language_tag, "marketplace_id": where.marketplace_id}
    ]


def product_identifier(gtin: str) -> dict[str, str]:
    """The ``externally_assigned_product_identifier`` value of a GTIN (type by its length)."""
    code = gtin.strip()
    if not code.isdigit() or not ean_check.is_valid(code):
        raise ValueError(f"{gtin!r} is not a valid GTIN (digits and check digit)")
    kind = {12: "upc", 13: "ean", 14: "gtin"}.get(len(code), "ean")
    return {"type": kind, "value": code}


def offer_attribute(price: ChannelPrice, where: Marketplace) -> list[dict[str, Any]]:
    """``purchasable_offer`` with ``our_price`` (and the compare-at price as ``list_price``)."""
    offer: dict[str, Any] = {
        "marketplace_id": where.marketplace_id,
        "currency": price.currency,
        "our_price": [{"schedule": [{"value_with_tax": _number(price.amount)}]}],
    }
    return [offer]


def list_price_attribute(price: ChannelPrice, where: Marketplace) -> list[dict[str, Any]] | None:
    if price.compare_at is None or price.compare_at <= price.amount:
        return None
    return [
        {
            "marketplace_id": where.marketplace_id,
            "currency": price.currency,
            "value_with_tax": _number(price.compare_at),
        }
    ]


def availability_attribute(quantity: int) -> list[dict[str, Any]]:
    """``fulfillment_availability`` for the seller's own stock (never negative)."""
    return [{"fulfillment_channel_code": FULFILLMENT_CHANNEL, "quantity": max(0, quantity)}]


def product_type_of(listing: Listing, where: Marketplace) -> str:
    return listing.attributes.get("amazon_product_type") or where.product_type


def content_attributes(listing: Listing, where: Marketplace) -> dict[str, Any]:
    """The product facts of ``listing`` as listing attributes (ValueError names what is
    wrong: Amazon refuses a listing without a title, brand and product identifier)."""
    if not listing.title.strip():
        raise ValueError("it has no title (item_name)")
    brand = listing.brand or listing.attributes.get("brand")
    if not brand:
        raise ValueError("it has no brand (Amazon requires one)")
    attributes: dict[str, Any] = {
        "item_name": _text(listing.title.strip(), where),
        "brand": _text(brand, where),
        "condition_type": [{"value": where.condition_type, "marketplace_id": where.marketplace_id}],
    }
    if listing.gtin:
        attributes["externally_assigned_product_identifier"] = [
            product_identifier(listing.gtin) | {"marketplace_id": where.marketplace_id}
        ]
    elif listing.attributes.get("asin"):
        attributes["merchant_suggested_asin"] = [
            {"value": listing.attributes["asin"], "marketplace_id": where.marketplace_id}
        ]
    else:
        raise ValueError("it has no GTIN (or ASIN) to match it to Amazon's catalog")
    if listing.description.strip():
        attributes["product_description"] = _text(listing.description.strip(), where)
    bullets = bullet_points(listing)
    if bullets:
        attributes["bullet_point"] = [
            _text(bullet, where)[0] for bullet in bullets[:MAX_BULLET_POINTS]
        ]
    if listing.images:
        attributes["main_product_image_locator"] = [
            {"media_location": listing.images[0], "marketplace_id": where.marketplace_id}
        ]
        for n, image in enumerate(listing.images[1 : MAX_OTHER_IMAGES + 1], start=1):
            attributes[f"other_product_image_locator_{n}"] = [
                {"media_location": image, "marketplace_id": where.marketplace_id}
            ]
    return attributes


def bullet_points(listing: Listing) -> list[str]:
    """Bullet points from the mapping's ``bullet_points`` attribute (one per line)."""
    raw = listing.attributes.get("bullet_points", "")
    return [line.strip(" -•\t") for line in raw.splitlines() if line.strip(" -•\t")]


def put_body(listing: Listing, where: Marketplace, quantity: int) -> dict[str, Any]:
    """A putListingsItem body creating the listing: its facts, its offer when it has a price
    and is not on hold, and the quantity known so far."""
    attributes = content_attributes(listing, where)
    attributes["fulfillment_availability"] = availability_attribute(quantity)
    has_offer = listing.price is not None and not listing.on_hold
    if has_offer and listing.price is not None:
        attributes["purchasable_offer"] = offer_attribute(listing.price, where)
        list_price = list_price_attribute(listing.price, where)
        if list_price:
            attributes["list_price"] = list_price
    return {
        "productType": product_type_of(listing, where),
        "requirements": "LISTING" if has_offer else "LISTING_PRODUCT_ONLY",
        "attributes": attributes,
    }


def listing_patches(listing: Listing, where: Marketplace) -> list[dict[str, Any]]:
    """JSON Patch operations updating an existing listing's facts and offer. A listing on
    hold loses its offer (it cannot be bought; its quantity is kept for when it returns)."""
    patches = [
        {"op": "replace", "path": f"/attributes/{name}", "value": value}
        for name, value in content_attributes(listing, where).items()
    ]
    if listing.on_hold:
        patches.append(
            {
                "op": "delete",
                "path": "/attributes/purchasable_offer",
                "value": [{"marketplace_id": where.marketplace_id}],
            }
        )
    elif listing.price is not None:
        patches += price_patches(listing.price, where)
    return patches


def stock_patches(level: StockLevel) -> list[dict[str, Any]]:
    return [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": availability_attribute(level.quantity),
        }
    ]


def price_patches(price: ChannelPrice, where: Marketplace) -> list[dict[str, Any]]:
    patches = [
        {
            "op": "replace",
            "path": "/attributes/purchasable_offer",
            "value": offer_attribute(price, where),
        }
    ]
    list_price = list_price_attribute(price, where)
    if list_price:
        patches.append({"op": "replace", "path": "/attributes/list_price", "value": list_price})
    return patches


def feed_document(
    seller_id: str, work: Sequence[tuple[str, str, list[dict[str, Any]]]]
) -> dict[str, Any]:
    """A JSON_LISTINGS_FEED v2 document of PATCH messages (SKU, product type, patches),
    numbered from 1 in order."""
    return {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": [
            {
                "messageId": n,
                "sku": sku,
                "operationType": "PATCH",
                "productType": product_type,
                "patches": patches,
            }
            for n, (sku, product_type, patches) in enumerate(work, start=1)
        ],
    }


@dataclass(frozen=True)
class FeedProblem:
    message_id: int | None
    sku: str | None
    message: str


def report_problems(report: Any, sku_by_message: dict[int, str]) -> list[FeedProblem]:
    """The ERROR issues of a listings feed processing report v2, each naming its SKU."""
    problems: list[FeedProblem] = []
    for issue in (report or {}).get("issues") or []:
        if not isinstance(issue, dict) or issue.get("severity") != "ERROR":
            continue
        message_id = issue.get("messageId")
        number = message_id if isinstance(message_id, int) else None
        sku = issue.get("sku") or (sku_by_message.get(number) if number else None)
        text = str(issue.get("message") or issue.get("code") or "no reason given")
        if issue.get("attributeName"):
            text += f" [{issue['attributeName']}]"
        problems.append(FeedProblem(number, sku, text))
    return problems


def submission_errors(body: Any) -> list[str]:
    """The ERROR issues of a ListingsItemSubmissionResponse, as readable lines."""
    lines = []
    for issue in (body or {}).get("issues") or []:
        if isinstance(issue, dict) and issue.get("severity") == "ERROR":
            names = ", ".join(issue.get("attributeNames") or [])
            where = f" [{names}]" if names else ""
            lines.append(f"{issue.get('code', '')} {issue.get('message', '')}{where}".strip())
    return lines


def listing_quantity(item: dict[str, Any]) -> int | None:
    """The DEFAULT fulfillment channel quantity of a getListingsItem Item."""
    for entry in item.get("fulfillmentAvailability") or []:
        if entry.get("fulfillmentChannelCode") == FULFILLMENT_CHANNEL:
            quantity = entry.get("quantity")
            return int(quantity) if quantity is not None else None
    return None


def listing_price(item: dict[str, Any], marketplace_id: str) -> Decimal | None:
    """Our B2C price of a getListingsItem Item in the marketplace."""
    for offer in item.get("offers") or []:
        if offer.get("marketplaceId") == marketplace_id and offer.get("offerType", "B2C") == "B2C":
            amount = (offer.get("price") or {}).get("amount")
            if amount is not None:
                return _decimal(amount)
    return None


# --- orders ----------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def amazon_time(moment: datetime) -> str:
    """ISO 8601 in UTC, as the Orders API expects its dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_ready(order: dict[str, Any]) -> bool:
    """Whether the hub takes the order now (Pending orders wait until Unshipped)."""
    return order.get("OrderStatus") not in NOT_READY


def order_from_amazon(order: dict[str, Any], items: Sequence[dict[str, Any]]) -> ChannelOrder:
    """A ChannelOrder from a v0 Order and its OrderItems. The buyer's e-mail is Amazon's
    pseudonymous relay address: it identifies the buyer on Amazon only, so it travels as
    ``customer_external_id`` and never as an e-mail the hub could merge profiles on."""
    buyer = order.get("BuyerInfo") or {}
    shipping = order.get("ShippingAddress")
    total = order.get("OrderTotal") or {}
    currency = total.get("CurrencyCode") or next(
        (
            (item.get("ItemPrice") or {}).get("CurrencyCode")
            for item in items
            if (item.get("ItemPrice") or {}).get("CurrencyCode")
        ),
        "",
    )
    created = parse_time(order.get("PurchaseDate")) or datetime.now(UTC)
    return ChannelOrder(
        external_id=str(order["AmazonOrderId"]),
        created_at=created,
        currency=str(currency or ""),
        lines=tuple(_line(item) for item in items),
        customer_email=None,
        customer_name=buyer.get("BuyerName") or (shipping or {}).get("Name"),
        customer_external_id=buyer.get("BuyerEmail") or None,
        shipping_address=_address(shipping) if shipping else None,
        is_paid=order.get("OrderStatus") not in NOT_READY,
        cancelled=order.get("OrderStatus") == "Canceled",
        updated_at=parse_time(order.get("LastUpdateDate")),
    )


def _line(item: dict[str, Any]) -> ChannelOrderLine:
    quantity = int(item.get("QuantityOrdered") or 0)
    total = _money(item.get("ItemPrice"))
    # ItemPrice is the price of the whole line (quantity times the unit price).
    unit = round_to(total / quantity, 2) if quantity else total
    return ChannelOrderLine(
        external_line_id=str(item["OrderItemId"]),
        sku=str(item.get("SellerSKU") or item.get("ASIN") or ""),
        quantity=quantity,
        unit_price=unit,
        discount=_money(item.get("PromotionDiscount")),
        tax=_money(item.get("ItemTax")),
    )


def _address(address: dict[str, Any]) -> ChannelAddress:
    line2 = " ".join(
        str(address[key]) for key in ("AddressLine2", "AddressLine3") if address.get(key)
    )
    name = " / ".join(str(address[key]) for key in ("Name", "CompanyName") if address.get(key))
    return ChannelAddress(
        name=name or None,
        line1=address.get("AddressLine1"),
        line2=line2 or None,
        postal_code=address.get("PostalCode"),
        city=address.get("City"),
        region=address.get("StateOrRegion"),
        country=address.get("CountryCode"),
        phone=address.get("Phone"),
    )


def _money(money: dict[str, Any] | None) -> Decimal:
    if not money or money.get("Amount") in (None, ""):
        return Decimal(0)
    return _decimal(money["Amount"])


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def _number(amount: Decimal) -> float:
    return float(round_to(amount, 2))


# --- shipments -------------------------------------------------------------------------------


def package_reference(fulfilment: Fulfilment) -> str:
    """A stable package reference: the same shipment always gets the same one, so a repeated
    confirmation names the same package."""
    key = "|".join(
        [fulfilment.external_order_id, fulfilment.tracking_number or ""]
        + [f"{line.external_line_id}x{line.quantity}" for line in fulfilment.lines]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def confirm_shipment_body(
    fulfilment: Fulfilment,
    marketplace_id: str,
    *,
    default_carrier: str,
    default_carrier_name: str,
    shipped_at: datetime,
) -> dict[str, Any]:
    """A v0 ConfirmShipmentRequest for one package holding the fulfilment's lines."""
    carrier = (fulfilment.carrier or "").strip() or default_carrier
    package: dict[str, Any] = {
        "packageReferenceId": package_reference(fulfilment),
        "carrierCode": carrier,
        "trackingNumber": fulfilment.tracking_number or "",
        "shipDate": amazon_time(shipped_at),
        "orderItems": [
            {"orderItemId": line.external_line_id, "quantity": line.quantity}
            for line in fulfilment.lines
        ],
    }
    if carrier.lower() == "other":
        package["carrierName"] = default_carrier_name
    return {"marketplaceId": marketplace_id, "packageDetail": package}
