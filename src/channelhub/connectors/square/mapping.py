"""Between the hub's values and Square's objects, both ways, without I/O: a listing as an ITEM
with one ITEM_VARIATION (SKU, GTIN as UPC, price), a price as a variation's ``price_money``,
stock as a PHYSICAL_COUNT, and a Square order as a ChannelOrder."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channelhub.connectors.base import ChannelOrder, ChannelOrderLine, ChannelPrice, Listing
from channelhub.core.money import from_minor, to_minor

MAX_NAME = 512
MAX_DESCRIPTION = 4096
MAX_VARIATION_NAME = 255


@dataclass(frozen=True)
class VariationRef:
    """Where a SKU lives in the Square catalog, with the versions last seen."""

    item_id: str
    item_version: int | None
    variation_id: str
    variation_version: int | None


def idempotency_key(kind: str, body: object) -> str:
    """A key derived from the request's content: a retry of the same request is recognized by
    Square, a different request never reuses a key (which Square refuses)."""
    data = json.dumps([kind, body], sort_keys=True, default=str).encode()
    return f"channelhub-{kind}-{hashlib.sha256(data).hexdigest()[:40]}"


def to_money(amount: Decimal, currency: str) -> dict[str, Any]:
    """Square's Money: an integer count of the currency's smallest unit."""
    return {"amount": to_minor(amount, currency), "currency": currency}


def from_money(money: Mapping[str, Any] | None, currency: str) -> Decimal:
    if not money:
        return Decimal(0)
    code = str(money.get("currency") or currency)
    return from_minor(int(money.get("amount") or 0), code)


def variation_name(listing: Listing) -> str:
    options = ", ".join(str(v) for _k, v in sorted(listing.options.items()))
    return (options or "Regular")[:MAX_VARIATION_NAME]


def catalog_item(listing: Listing, known: VariationRef | None) -> dict[str, Any]:
    """The ITEM (with its one variation) that shows ``listing``: the known ids and versions
    when Square has it already, ``#temp`` ids otherwise."""
    item_id = known.item_id if known else f"#item:{listing.sku}"
    data: dict[str, Any] = {
        "name": variation_name(listing),
        "sku": listing.sku,
        "track_inventory": True,
        "sellable": True,
        "stockable": True,
    }
    if listing.gtin:
        data["upc"] = listing.gtin
    if listing.price is not None:
        data["pricing_type"] = "FIXED_PRICING"
        data["price_money"] = to_money(listing.price.amount, listing.price.currency)
    else:
        data["pricing_type"] = "VARIABLE_PRICING"
    variation: dict[str, Any] = {
        "type": "ITEM_VARIATION",
        "id": known.variation_id if known else f"#variation:{listing.sku}",
        "present_at_all_locations": True,
        "item_variation_data": {"item_id": item_id, **data},
    }
    item: dict[str, Any] = {
        "type": "ITEM",
        "id": item_id,
        "present_at_all_locations": True,
        "item_data": {
            "name": (listing.title or listing.sku)[:MAX_NAME],
            "description": listing.description[:MAX_DESCRIPTION],
            "is_archived": listing.on_hold,
            "variations": [variation],
        },
    }
    if known and known.item_version is not None:
        item["version"] = known.item_version
    if known and known.variation_version is not None:
        variation["version"] = known.variation_version
    return item


def priced_variation(variation: Mapping[str, Any], price: ChannelPrice) -> dict[str, Any]:
    """The variation as Square has it, with a new fixed price (an upsert replaces the whole
    object, so every other field is sent back as it was)."""
    updated: dict[str, Any] = json.loads(json.dumps(variation))
    data = updated.setdefault("item_variation_data", {})
    data["pricing_type"] = "FIXED_PRICING"
    data["price_money"] = to_money(price.amount, price.currency)
    for read_only in ("updated_at", "created_at", "is_deleted"):
        updated.pop(read_only, None)
    return updated


def physical_count(
    variation_id: str, location_id: str, quantity: int, occurred_at: datetime
) -> dict[str, Any]:
    """An absolute count (Square applies counts in ``occurred_at`` order, so a repeat is safe)."""
    return {
        "type": "PHYSICAL_COUNT",
        "physical_count": {
            "catalog_object_id": variation_id,
            "state": "IN_STOCK",
            "location_id": location_id,
            "quantity": str(max(0, quantity)),
            "occurred_at": occurred_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    }


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def channel_order(
    order: Mapping[str, Any],
    skus: Mapping[str, str],
    hub_location: str | None,
    fallback_currency: str,
) -> ChannelOrder | None:
    """A Square order as the hub imports it: its line items that name a catalog variation with
    a SKU (custom-amount lines have none and are left out); None when no line is left."""
    currency = str((order.get("total_money") or {}).get("currency") or fallback_currency)
    lines: list[ChannelOrderLine] = []
    for item in order.get("line_items") or []:
        sku = skus.get(str(item.get("catalog_object_id") or ""))
        if not sku:
            continue
        try:
            quantity = Decimal(str(item.get("quantity", "0")))
        except InvalidOperation:
            continue
        if quantity != quantity.to_integral_value() or quantity <= 0:
            continue  # measured quantities (weights) have no unit count to take from stock
        lines.append(
            ChannelOrderLine(
                external_line_id=str(item.get("uid") or f"{order.get('id')}:{len(lines) + 1}"),
                sku=sku,
                quantity=int(quantity),
                unit_price=from_money(item.get("base_price_money"), currency),
                discount=from_money(item.get("total_discount_money"), currency),
                tax=from_money(item.get("total_tax_money"), currency),
            )
        )
    if not lines:
        return None
    created = parse_time(order.get("created_at"))
    if created is None:
        raise ValueError(f"Square order {order.get('id')} has no created_at")
    state = str(order.get("state") or "")
    return ChannelOrder(
        external_id=str(order["id"]),
        created_at=created,
        currency=currency,
        lines=tuple(lines),
        customer_external_id=order.get("customer_id"),
        pickup_location=hub_location,
        in_store=True,
        is_paid=state == "COMPLETED",
        cancelled=state == "CANCELED",
        updated_at=parse_time(order.get("updated_at")),
    )
