"""Mapping between the hub's values and WooCommerce REST API v3 resources. Pure: no I/O.

Products: a listing without a parent is a ``simple`` product; listings that name a
``parent_sku`` are ``variation`` resources of a ``variable`` product whose SKU is the parent's.
Prices are strings (``regular_price``, ``sale_price``); stock is ``manage_stock`` with an
absolute ``stock_quantity``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channelhub.connectors.base import (
    ChannelAddress,
    ChannelOrder,
    ChannelOrderLine,
    ChannelPrice,
    Fulfilment,
    Listing,
    PermanentError,
)
from channelhub.core.money import round_to

#: Statuses whose order the hub treats as cancelled.
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "failed", "trash"})
#: Statuses of orders not paid yet.
UNPAID_STATUSES = frozenset({"pending", "on-hold", "checkout-draft"})
DEFAULT_ATTRIBUTE = "Option"


@dataclass(frozen=True)
class ProductRef:
    """Where one SKU lives in WooCommerce: a product, or a variation of a variable product."""

    product_id: int
    variation_id: int | None = None

    @property
    def is_variation(self) -> bool:
        return self.variation_id is not None


@dataclass(frozen=True)
class VariableGroup:
    """A variable product and the variations the hub lists under it."""

    parent_sku: str
    parent: Listing
    variations: tuple[Listing, ...]


def group_listings(listings: Sequence[Listing]) -> tuple[list[Listing], list[VariableGroup]]:
    """(simple products, variable products with their variations) of a batch of listings."""
    by_sku = {listing.sku: listing for listing in listings}
    children: dict[str, list[Listing]] = {}
    for listing in listings:
        if listing.parent_sku is not None:
            children.setdefault(listing.parent_sku, []).append(listing)
    simple = [x for x in listings if x.parent_sku is None and x.sku not in children]
    groups = [
        VariableGroup(parent_sku, by_sku.get(parent_sku, variants[0]), tuple(variants))
        for parent_sku, variants in children.items()
    ]
    return simple, groups


def money(amount: Decimal) -> str:
    """A price as WooCommerce wants it: a string with the store's decimals (2 by default)."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent <= -2:
        return f"{amount:f}"
    return f"{round_to(amount, 2):f}"


def price_fields(price: ChannelPrice) -> dict[str, str]:
    """``regular_price``/``sale_price``: a lower effective price is a sale on the base price;
    an empty ``sale_price`` ends a sale."""
    if price.compare_at is not None and price.compare_at > price.amount:
        return {"regular_price": money(price.compare_at), "sale_price": money(price.amount)}
    return {"regular_price": money(price.amount), "sale_price": ""}


def _meta(listing: Listing) -> list[dict[str, str]]:
    meta = [{"key": "gtin", "value": listing.gtin}] if listing.gtin else []
    if listing.brand:
        meta.append({"key": "brand", "value": listing.brand})
    return meta


def _content(listing: Listing) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": listing.title,
        "description": listing.description,
        "status": "draft" if listing.on_hold else "publish",
    }
    meta = _meta(listing)
    if meta:
        body["meta_data"] = meta
    if listing.images:
        body["images"] = [{"src": url} for url in dict.fromkeys(listing.images)]
    return body


def simple_product(listing: Listing) -> dict[str, Any]:
    """A ``simple`` product body. Stock is left out: it travels with its own jobs."""
    body = {"sku": listing.sku, "type": "simple", **_content(listing)}
    if listing.price is not None:
        body.update(price_fields(listing.price))
    return body


def option_names(group: VariableGroup) -> list[str]:
    names: list[str] = []
    for variation in group.variations:
        for name in variation.options:
            if name not in names:
                names.append(name)
    return names or [DEFAULT_ATTRIBUTE]


def variable_product(
    group: VariableGroup, known_options: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """The ``variable`` parent: its content and the attributes its variations choose from
    (merged with the options WooCommerce already knows, so variations outside this batch
    keep theirs)."""
    attributes = []
    for name in option_names(group):
        options = list(known_options.get(name, ()))
        for variation in group.variations:
            value = variation.options.get(name) or (
                variation.sku if name == DEFAULT_ATTRIBUTE else None
            )
            if value is not None and value not in options:
                options.append(value)
        attributes.append({"name": name, "options": options, "variation": True, "visible": True})
    body = {"sku": group.parent_sku, "type": "variable", **_content(group.parent)}
    body["name"] = group.parent.title
    body["attributes"] = attributes
    return body


def variation(listing: Listing, names: Sequence[str]) -> dict[str, Any]:
    """A ``variation`` body: its SKU, attribute choices, status and price."""
    choices = []
    for name in names:
        value = listing.options.get(name) or (listing.sku if name == DEFAULT_ATTRIBUTE else None)
        if value is None:
            raise PermanentError(f"variation {listing.sku} has no value for option {name!r}")
        choices.append({"name": name, "option": value})
    body: dict[str, Any] = {
        "sku": listing.sku,
        "description": listing.description,
        "status": "private" if listing.on_hold else "publish",
        "attributes": choices,
    }
    meta = _meta(listing)
    if meta:
        body["meta_data"] = meta
    if listing.images:
        body["image"] = {"src": listing.images[0]}
    if listing.price is not None:
        body.update(price_fields(listing.price))
    return body


def stock_fields(quantity: int) -> dict[str, Any]:
    return {"manage_stock": True, "stock_quantity": quantity}


def fulfilment_note(fulfilment: Fulfilment) -> str:
    """The order note that tells the customer how the parcel travels."""
    parts = ["Shipped"]
    if fulfilment.carrier:
        parts.append(f"with {fulfilment.carrier}")
    text = " ".join(parts)
    if fulfilment.tracking_number:
        text += f", tracking number {fulfilment.tracking_number}"
    if fulfilment.tracking_url:
        text += f" ({fulfilment.tracking_url})"
    items = ", ".join(f"{line.quantity} x {line.sku}" for line in fulfilment.lines)
    return f"{text}: {items}." if items else f"{text}."


# --- orders ---------------------------------------------------------------------------------


def decimal(value: Any, where: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise PermanentError(f"WooCommerce sent {where} that is not a number: {value!r}") from error


def gmt_time(value: Any, where: str) -> datetime:
    """A ``*_gmt`` field (ISO 8601 without zone, in UTC) as an aware datetime."""
    if not isinstance(value, str) or not value:
        raise PermanentError(f"WooCommerce sent no {where}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise PermanentError(f"WooCommerce sent an unreadable {where}: {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def gmt_text(moment: datetime) -> str:
    """A UTC time the way WooCommerce writes ``*_gmt`` fields (``2026-11-23T02:45:00``)."""
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _name(address: Mapping[str, Any]) -> str | None:
    parts = [address.get("first_name"), address.get("last_name")]
    name = " ".join(str(p) for p in parts if p)
    return name or (str(address["company"]) if address.get("company") else None)


def _address(raw: Any, email: str | None, phone: str | None) -> ChannelAddress | None:
    if not isinstance(raw, Mapping) or not any(
        raw.get(k) for k in ("address_1", "city", "last_name")
    ):
        return None
    return ChannelAddress(
        name=_name(raw),
        line1=raw.get("address_1") or None,
        line2=raw.get("address_2") or None,
        postal_code=raw.get("postcode") or None,
        city=raw.get("city") or None,
        region=raw.get("state") or None,
        country=(raw.get("country") or None),
        phone=raw.get("phone") or phone,
        email=raw.get("email") or email,
    )


def order_line(item: Mapping[str, Any], order_id: Any) -> ChannelOrderLine:
    """One ``line_items`` entry. ``price`` is the unit price after discounts; the discount is
    ``subtotal - total`` (both before tax)."""
    quantity = int(item.get("quantity") or 0)
    where = f"order {order_id} line {item.get('id')}"
    subtotal = decimal(item.get("subtotal"), f"the subtotal of {where}")
    total = decimal(item.get("total"), f"the total of {where}")
    unit = (
        subtotal / quantity
        if quantity and subtotal
        else decimal(item.get("price"), f"the price of {where}")
    )
    # A line whose product was deleted has no SKU: it goes on without one and the hub rejects
    # the order with its reason, rather than this order blocking every later one in the poll.
    sku = item.get("sku") or ""
    return ChannelOrderLine(
        external_line_id=str(item["id"]),
        sku=str(sku),
        quantity=quantity,
        unit_price=round_to(unit, 4).normalize() if unit else Decimal(0),
        discount=max(Decimal(0), subtotal - total),
        tax=decimal(item.get("total_tax"), f"the tax of {where}"),
    )


def order_from_woo(raw: Mapping[str, Any]) -> ChannelOrder:
    """A ChannelOrder from a WooCommerce order resource (REST answer or webhook body)."""
    try:
        order_id = raw["id"]
        status = str(raw.get("status") or "pending")
        billing = raw.get("billing") or {}
        email = billing.get("email") or None
        phone = billing.get("phone") or None
        customer_id = raw.get("customer_id")
        created = raw.get("date_created_gmt") or raw.get("date_created")
        modified = raw.get("date_modified_gmt") or raw.get("date_modified")
        return ChannelOrder(
            external_id=str(order_id),
            created_at=gmt_time(created, f"creation date of order {order_id}"),
            updated_at=gmt_time(modified, f"modification date of order {order_id}")
            if modified
            else None,
            currency=str(raw.get("currency") or "USD"),
            lines=tuple(order_line(item, order_id) for item in raw.get("line_items") or []),
            customer_email=email,
            customer_name=_name(billing) if isinstance(billing, Mapping) else None,
            customer_external_id=str(customer_id) if customer_id else None,
            shipping_address=_address(raw.get("shipping"), email, phone),
            billing_address=_address(billing, email, phone),
            is_paid=(status not in UNPAID_STATUSES and status not in CANCELLED_STATUSES)
            or bool(raw.get("date_paid_gmt") or raw.get("date_paid")),
            cancelled=status in CANCELLED_STATUSES,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise PermanentError(f"unreadable WooCommerce order: {error!r}") from error
