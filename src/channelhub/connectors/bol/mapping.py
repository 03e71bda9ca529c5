"""Pure mapping between bol.com's Retailer API documents and the hub's values (no I/O).

Shapes follow the Offers API v11 (11.3.0) and the Retailer API v10 specifications vendored in
``shared/specs/bol/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from channelhub.connectors.base import (
    Cancellation,
    ChannelAddress,
    ChannelOrder,
    ChannelOrderLine,
    Fulfilment,
    Listing,
)
from channelhub.core.money import round_to

MAX_STOCK = 999  # bol.com accepts a stock amount of 0 to 999 per offer
MAX_REFERENCE = 100
MAX_TITLE = 500
CURRENCY = "EUR"  # bol.com sells in the Netherlands and Belgium only

CANCELLATION_REASONS = frozenset(
    {
        "OUT_OF_STOCK",
        "REQUESTED_BY_CUSTOMER",
        "BAD_CONDITION",
        "HIGHER_SHIPCOST",
        "INCORRECT_PRICE",
        "NOT_AVAIL_IN_TIME",
        "NO_BOL_GUARANTEE",
        "ORDERED_TWICE",
        "RETAIN_ITEM",
        "TECH_ISSUE",
        "UNFINDABLE_ITEM",
        "OTHER",
    }
)
_REASON_WORDS = {
    "stock": "OUT_OF_STOCK",
    "customer": "REQUESTED_BY_CUSTOMER",
    "damaged": "BAD_CONDITION",
    "price": "INCORRECT_PRICE",
    "twice": "ORDERED_TWICE",
    "duplicate": "ORDERED_TWICE",
    "late": "NOT_AVAIL_IN_TIME",
}
# bol.com transporter codes for the carriers a Dutch or Belgian shop ships with most.
_TRANSPORTERS = {
    "postnl": "TNT",
    "tnt": "TNT",
    "dhl": "DHL",
    "dhlforyou": "DHLFORYOU",
    "dpd": "DPD-NL",
    "dpd-be": "DPD-BE",
    "gls": "GLS",
    "ups": "UPS",
    "fedex": "FEDEX_NL",
    "bpost": "BPOST_BE",
    "budbee": "BUDBEE",
}


@dataclass(frozen=True)
class Offer:
    """What bol.com holds for one offer, as far as the hub cares."""

    offer_id: str
    ean: str | None
    reference: str | None
    on_hold: bool
    stock: int | None
    price: Decimal | None
    title: str | None = None
    economic_operator_id: str | None = None


@dataclass(frozen=True)
class OfferTerms:
    """The connection-wide settings that go into every offer."""

    fulfilment_method: str
    min_days_to_customer: int
    max_days_to_customer: int
    ultimate_order_time: str | None
    economic_operator_id: str | None
    countries: tuple[str, ...]


def clamp_stock(quantity: int) -> tuple[int, str]:
    """The amount bol.com accepts for ``quantity`` and, when it differs, a note saying so."""
    if quantity > MAX_STOCK:
        return MAX_STOCK, f"stock {quantity} capped at bol.com's maximum of {MAX_STOCK}"
    if quantity < 0:
        return 0, f"negative stock {quantity} sent as 0"
    return quantity, ""


def fulfilment_body(terms: OfferTerms) -> dict[str, Any]:
    body: dict[str, Any] = {"method": terms.fulfilment_method}
    if terms.fulfilment_method == "FBR":  # bol.com uses the delivery promise for FBR only
        promise: dict[str, Any] = {
            "minimumDaysToCustomer": terms.min_days_to_customer,
            "maximumDaysToCustomer": terms.max_days_to_customer,
        }
        if terms.ultimate_order_time:
            promise["ultimateOrderTime"] = terms.ultimate_order_time
        body["deliveryPromise"] = promise
    return body


def pricing_body(amount: Decimal) -> dict[str, Any]:
    # One bundle price for quantity 1; the JSON number keeps the cents exactly.
    return {"bundlePrices": [{"quantity": 1, "unitPrice": float(round_to(amount, 2))}]}


def create_offer_body(
    listing: Listing, ean: str, terms: OfferTerms, price: Decimal, stock: int
) -> dict[str, Any]:
    """A CreateOfferRequest (v11) for a SKU bol.com does not list yet; our reference is the SKU."""
    body: dict[str, Any] = {
        "ean": ean,
        "reference": listing.sku[:MAX_REFERENCE],
        "onHoldByRetailer": listing.on_hold,
        "unknownProductTitle": listing.title[:MAX_TITLE],
        "condition": {"category": "NEW"},
        "pricing": pricing_body(price),
        "countryAvailabilities": [{"countryCode": code} for code in terms.countries],
        "fulfilment": fulfilment_body(terms),
        # managedByRetailer: the hub's quantity already excludes the orders it has imported, so
        # bol.com should only subtract orders placed after our last update.
        "stock": {"amount": clamp_stock(stock)[0], "managedByRetailer": True},
    }
    if terms.economic_operator_id:
        body["economicOperatorId"] = terms.economic_operator_id
    return body


def listing_patch(listing: Listing, offer: Offer, terms: OfferTerms) -> dict[str, Any]:
    """A PatchOfferRequest with only the listing fields that differ from bol.com's offer."""
    patch: dict[str, Any] = {}
    if listing.on_hold != offer.on_hold:
        patch["onHoldByRetailer"] = listing.on_hold
    title = listing.title[:MAX_TITLE]
    if offer.title is not None and title != offer.title:
        patch["unknownProductTitle"] = title
    operator = terms.economic_operator_id
    if operator and operator != offer.economic_operator_id:
        patch["economicOperatorId"] = operator
    reference = listing.sku[:MAX_REFERENCE]
    if offer.reference != reference:
        patch["reference"] = reference
    return patch


def stock_patch(offer: Offer, quantity: int) -> dict[str, Any] | None:
    """The stock PATCH for ``quantity``, or None when bol.com already has that amount."""
    amount, _ = clamp_stock(quantity)
    if offer.stock == amount:
        return None
    return {"stock": {"amount": amount, "managedByRetailer": True}}


def price_patch(offer: Offer, amount: Decimal) -> dict[str, Any] | None:
    """The pricing PATCH for ``amount``, or None when bol.com already has that price."""
    if offer.price is not None and offer.price == round_to(amount, 2):
        return None
    return {"pricing": pricing_body(amount)}


def offer_from_bol(body: dict[str, Any]) -> Offer:
    """An Offer from a v11 OfferResponse."""
    stock = body.get("stock") or {}
    return Offer(
        offer_id=str(body["offerId"]),
        ean=body.get("ean"),
        reference=body.get("reference"),
        on_hold=bool(body.get("onHoldByRetailer", False)),
        stock=stock.get("amount"),
        price=unit_price(body.get("pricing")),
        title=body.get("unknownProductTitle"),
        economic_operator_id=body.get("economicOperatorId"),
    )


def unit_price(pricing: dict[str, Any] | None) -> Decimal | None:
    """The price for a single unit in a v11 ``pricing`` object."""
    for bundle in (pricing or {}).get("bundlePrices", []):
        if bundle.get("quantity") == 1:
            return round_to(Decimal(str(bundle["unitPrice"])), 2)
    return None


def with_changes(offer: Offer, patch: dict[str, Any]) -> Offer:
    """``offer`` as it is after bol.com accepted ``patch`` (204)."""
    return Offer(
        offer_id=offer.offer_id,
        ean=offer.ean,
        reference=patch.get("reference", offer.reference),
        on_hold=patch.get("onHoldByRetailer", offer.on_hold),
        stock=patch["stock"]["amount"] if "stock" in patch else offer.stock,
        price=unit_price(patch["pricing"]) if "pricing" in patch else offer.price,
        title=patch.get("unknownProductTitle", offer.title),
        economic_operator_id=patch.get("economicOperatorId", offer.economic_operator_id),
    )


# --- orders --------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latest_change(reduced_order: dict[str, Any]) -> datetime | None:
    """When any item of a v10 ReducedOrder last changed."""
    moments = [
        parse_time(item.get("latestChangedDateTime")) for item in reduced_order["orderItems"]
    ]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else parse_time(reduced_order.get("orderPlacedDateTime"))


def order_from_bol(order: dict[str, Any]) -> ChannelOrder:
    """A ChannelOrder from a v10 Order; a line's SKU is the offer reference, else its EAN."""
    items = order["orderItems"]
    shipment = order.get("shipmentDetails") or {}
    billing = order.get("billingDetails") or {}
    changed = [parse_time(item.get("latestChangedDateTime")) for item in items]
    placed = parse_time(order.get("orderPlacedDateTime"))
    return ChannelOrder(
        external_id=str(order["orderId"]),
        created_at=placed or datetime.now(UTC),
        currency=CURRENCY,
        lines=tuple(_line(item) for item in items),
        customer_email=billing.get("email") or shipment.get("email"),
        customer_name=_name(billing or shipment),
        shipping_address=_address(shipment) if shipment else None,
        billing_address=_address(billing) if billing else None,
        pickup_location=shipment.get("pickupPointName") if order.get("pickupPoint") else None,
        is_paid=True,  # the customer pays bol.com, which pays the retailer out
        cancelled=bool(items) and all(_is_cancelled(item) for item in items),
        updated_at=max((moment for moment in changed if moment), default=None),
    )


def _line(item: dict[str, Any]) -> ChannelOrderLine:
    offer = item.get("offer") or {}
    product = item.get("product") or {}
    discounts = sum((Decimal(str(d["amount"])) for d in item.get("discounts") or []), Decimal(0))
    return ChannelOrderLine(
        external_line_id=str(item["orderItemId"]),
        sku=offer.get("reference") or product.get("ean") or "",
        quantity=int(item["quantity"]),
        unit_price=Decimal(str(item["unitPrice"])),
        discount=discounts,
    )


def _is_cancelled(item: dict[str, Any]) -> bool:
    return int(item.get("quantityCancelled") or 0) >= int(item["quantity"])


def _name(details: dict[str, Any]) -> str | None:
    parts = [details.get("firstName"), details.get("surname")]
    name = " ".join(part for part in parts if part)
    return name or None


def _address(details: dict[str, Any]) -> ChannelAddress:
    street = " ".join(
        str(part)
        for part in (
            details.get("streetName"),
            details.get("houseNumber"),
            details.get("houseNumberExtension"),
        )
        if part
    )
    company = details.get("company")
    return ChannelAddress(
        name=" / ".join(part for part in (_name(details), company) if part) or None,
        line1=street or None,
        line2=details.get("extraAddressInformation"),
        postal_code=details.get("zipCode"),
        city=details.get("city"),
        country=details.get("countryCode"),
        phone=details.get("deliveryPhoneNumber"),
        email=details.get("email"),
    )


# --- fulfilment and cancellation -------------------------------------------------------------


def transporter_code(carrier: str | None) -> str:
    """bol.com's transporter code for a carrier name; OTHER when we do not know it."""
    if not carrier:
        return "OTHER"
    key = carrier.strip().lower().replace(" ", "")
    return _TRANSPORTERS.get(key, carrier.upper() if carrier.isupper() else "OTHER")


def shipment_body(fulfilment: Fulfilment) -> dict[str, Any]:
    """A v10 ShipmentRequest for the fulfilment's lines (bol.com takes up to 100 items)."""
    transport: dict[str, Any] = {"transporterCode": transporter_code(fulfilment.carrier)}
    if fulfilment.tracking_number:
        transport["trackAndTrace"] = fulfilment.tracking_number
    return {
        "orderItems": [
            {"orderItemId": line.external_line_id, "quantity": line.quantity}
            for line in fulfilment.lines
        ],
        "transport": transport,
    }


def cancellation_reason(reason: str) -> str:
    """bol.com's reasonCode for the hub's cancellation reason."""
    code = reason.strip().upper().replace(" ", "_")
    if code in CANCELLATION_REASONS:
        return code
    lowered = reason.lower()
    for word, mapped in _REASON_WORDS.items():
        if word in lowered:
            return mapped
    return "OTHER"


def cancellation_bodies(cancellation: Cancellation) -> list[dict[str, Any]]:
    """One v10 CancellationRequest per order item (bol.com takes exactly one per request)."""
    code = cancellation_reason(cancellation.reason)
    return [
        {"orderItems": [{"orderItemId": line_id, "reasonCode": code}]}
        for line_id in cancellation.external_line_ids
    ]


# --- errors ----------------------------------------------------------------------------------


def describe_problem(body: Any, fallback: str) -> str:
    """One readable line from bol.com's problem JSON, naming each violation."""
    if not isinstance(body, dict):
        return fallback.strip()[:300] or "no details"
    parts = [str(body.get(key)) for key in ("title", "detail") if body.get(key)]
    if parts[1:] and parts[0] == parts[1]:
        parts = parts[:1]
    message = ": ".join(parts) or "no details"
    violations = [
        f"{violation.get('name')}: {violation.get('reason')}"
        for violation in body.get("violations") or []
        if isinstance(violation, dict)
    ]
    if violations:
        message += " (" + "; ".join(violations) + ")"
    return message
