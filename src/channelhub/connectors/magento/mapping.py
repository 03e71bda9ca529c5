"""Mapping between the hub's values and Magento 2.4.9 REST resources. Pure: no I/O.

Products are ``catalog-data-product-interface`` objects keyed by SKU; stock is one
``inventory-api-data-source-item-interface`` per SKU at the connection's source (Multi-Source
Inventory); prices are ``catalog-data-base-price-interface`` rows; orders come from
``sales-data-order-interface``, where a configurable product's line is the parent item (it
carries the chosen simple's SKU and the price) and its child item is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    StockLevel,
)

STATUS_ENABLED, STATUS_DISABLED = 1, 2
VISIBILITY_NOT_VISIBLE, VISIBILITY_BOTH = 1, 4
CANCELLED_STATES = frozenset({"canceled", "closed"})
PAID_STATES = frozenset({"processing", "complete", "closed"})
#: Magento's built-in carrier codes; any other carrier ships as ``custom`` with its name.
CARRIERS = frozenset({"ups", "usps", "fedex", "dhl"})


def product_body(
    listing: Listing,
    *,
    type_id: str,
    attribute_set_id: int,
    website_ids: Sequence[int],
    gtin_attribute: str | None,
    creating: bool,
) -> dict[str, Any]:
    """``{"product": ...}`` for ``POST /V1/products`` or ``PUT /V1/products/{sku}``.

    A variant is a simple product not visible on its own; everything else is visible in
    catalog and search. The price goes along only on creation (Magento requires one); later
    it travels with the price jobs, so a content push never resets it."""
    custom = [{"attribute_code": "description", "value": listing.description}]
    if gtin_attribute and listing.gtin:
        custom.append({"attribute_code": gtin_attribute, "value": listing.gtin})
    product: dict[str, Any] = {
        "sku": listing.sku,
        "name": listing.title,
        "type_id": type_id,
        "attribute_set_id": attribute_set_id,
        "status": STATUS_DISABLED if listing.on_hold else STATUS_ENABLED,
        "visibility": VISIBILITY_NOT_VISIBLE if listing.parent_sku else VISIBILITY_BOTH,
        "custom_attributes": custom,
        "extension_attributes": {"website_ids": list(website_ids)},
    }
    if creating:
        product["price"] = float(listing.price.amount) if listing.price else 0
    return {"product": product, "saveOptions": True}


def source_item(level: StockLevel, source_code: str) -> dict[str, Any]:
    """The absolute quantity at one source; status 1 (in stock) while there is any."""
    quantity = max(0, level.quantity)
    return {
        "sku": level.sku,
        "source_code": source_code,
        "quantity": quantity,
        "status": 1 if quantity > 0 else 0,
    }


def base_price(price: ChannelPrice, store_id: int) -> dict[str, Any]:
    """The effective price as the base price (special prices are not used)."""
    return {"sku": price.sku, "price": float(price.amount), "store_id": store_id}


def carrier_track(fulfilment: Fulfilment) -> list[dict[str, str]]:
    if not fulfilment.tracking_number:
        return []
    carrier = (fulfilment.carrier or "").strip()
    code = carrier.lower() if carrier.lower() in CARRIERS else "custom"
    return [
        {
            "track_number": fulfilment.tracking_number,
            "title": carrier or "Carrier",
            "carrier_code": code,
        }
    ]


# --- orders ---------------------------------------------------------------------------------


def _decimal(value: Any, where: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise PermanentError(f"Magento sent {where} that is not a number: {value!r}") from error


def magento_time(value: Any, where: str) -> datetime:
    """``created_at``/``updated_at`` (``2026-11-20 10:00:00``, UTC) as an aware datetime."""
    if not isinstance(value, str) or not value:
        raise PermanentError(f"Magento sent no {where}")
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError as error:
        raise PermanentError(f"Magento sent an unreadable {where}: {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def magento_time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _address(raw: Any, email: str | None) -> ChannelAddress | None:
    if not isinstance(raw, Mapping):
        return None
    street = raw.get("street") or []
    name = " ".join(str(p) for p in (raw.get("firstname"), raw.get("lastname")) if p)
    return ChannelAddress(
        name=name or raw.get("company") or None,
        line1=street[0] if len(street) > 0 else None,
        line2=", ".join(street[1:]) or None if len(street) > 1 else None,
        postal_code=raw.get("postcode") or None,
        city=raw.get("city") or None,
        region=raw.get("region_code") or raw.get("region") or None,
        country=raw.get("country_id") or None,
        phone=raw.get("telephone") or None,
        email=raw.get("email") or email,
    )


def _shipping_address(raw: Mapping[str, Any]) -> Any:
    assignments = (raw.get("extension_attributes") or {}).get("shipping_assignments") or []
    for assignment in assignments:
        address = ((assignment or {}).get("shipping") or {}).get("address")
        if address:
            return address
    return None


def order_line(item: Mapping[str, Any], order_id: Any) -> ChannelOrderLine:
    where = f"order {order_id} item {item.get('item_id')}"
    sku = item.get("sku") or ""  # none: the hub rejects the order with its reason
    ordered = _decimal(item.get("qty_ordered"), f"the quantity of {where}")
    return ChannelOrderLine(
        external_line_id=str(item["item_id"]),
        sku=str(sku),
        quantity=int(ordered),
        unit_price=_decimal(item.get("price"), f"the price of {where}"),
        discount=_decimal(item.get("discount_amount"), f"the discount of {where}"),
        tax=_decimal(item.get("tax_amount"), f"the tax of {where}"),
    )


def order_from_magento(raw: Mapping[str, Any]) -> ChannelOrder:
    """A ChannelOrder from a ``sales-data-order-interface`` object."""
    try:
        order_id = raw["entity_id"]
        state = str(raw.get("state") or "new")
        email = raw.get("customer_email") or None
        name = " ".join(
            str(p) for p in (raw.get("customer_firstname"), raw.get("customer_lastname")) if p
        )
        grand_total = _decimal(raw.get("grand_total"), f"the total of order {order_id}")
        paid = _decimal(raw.get("total_paid"), f"the amount paid of order {order_id}")
        customer_id = raw.get("customer_id")
        return ChannelOrder(
            external_id=str(order_id),
            created_at=magento_time(raw.get("created_at"), f"creation time of order {order_id}"),
            updated_at=magento_time(raw["updated_at"], f"update time of order {order_id}")
            if raw.get("updated_at")
            else None,
            currency=str(raw.get("order_currency_code") or raw.get("base_currency_code")),
            lines=tuple(
                order_line(item, order_id)
                for item in raw.get("items") or []
                if not item.get("parent_item_id")  # a configurable's child: its parent counts
            ),
            customer_email=email,
            customer_name=name or None,
            customer_external_id=str(customer_id)
            if customer_id and not raw.get("customer_is_guest")
            else None,
            shipping_address=_address(_shipping_address(raw), email),
            billing_address=_address(raw.get("billing_address"), email),
            is_paid=state in PAID_STATES or (grand_total > 0 and paid >= grand_total),
            cancelled=state in CANCELLED_STATES,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise PermanentError(f"unreadable Magento order: {error!r}") from error
