"""Between the hub's values and Medusa v2's Admin API bodies, both ways (no I/O here).

A product in Medusa holds variants; the hub's listings that share a ``parent_sku`` become the
variants of one product whose handle comes from that parent SKU (a listing without a parent is
a product of one variant, handled by its own SKU). Medusa requires every variant to carry one
value of each product option: a listing's own ``options`` when every variant of the product has
the same option names and a distinct combination, else one option "Variant" valued by SKU.
Amounts are decimal major units (Medusa v2 stores BigNumbers, 12.95 means 12.95 EUR).
"""

from __future__ import annotations

import json
import re
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
    Listing,
    PermanentError,
)

FALLBACK_OPTION = "Variant"
#: Order fields asked of ``GET /admin/orders`` (Medusa's ``fields`` query syntax).
ORDER_FIELDS = (
    "id,display_id,status,email,customer_id,currency_code,created_at,updated_at,canceled_at,"
    "payment_status,fulfillment_status,*items,*shipping_address,*billing_address,*customer"
)
PRODUCT_FIELDS = (
    "id,handle,title,description,status,*options,*options.values,*variants,"
    "*variants.options,*sales_channels"
)
#: Payment states in which the money is secured (authorized at checkout, or captured).
PAID_STATES = frozenset(
    {"authorized", "partially_authorized", "captured", "partially_captured", "partially_refunded"}
)


def describe_error(body: Any, text: str = "") -> str:
    """Medusa's ``{"type", "message"}`` error body as one line."""
    if isinstance(body, Mapping):
        message = body.get("message")
        kind = body.get("type") or body.get("code")
        if message and kind:
            return f"{kind}: {message}"
        if message:
            return str(message)
    return text.strip()[:300] or "no details given"


def handle_for(sku: str) -> str:
    """A product handle from a SKU: lower case, letters, digits and dashes."""
    handle = re.sub(r"[^a-z0-9]+", "-", sku.lower()).strip("-")
    if not handle:
        raise PermanentError(f"SKU {sku!r} gives no usable Medusa product handle")
    return handle


@dataclass(frozen=True)
class ProductGroup:
    """The listings that make one Medusa product; ``parent`` gives the product's content.

    ``has_content`` says whether ``parent`` speaks for the product (the model's own listing,
    or a product of one variant) rather than standing in for a model absent from the batch:
    only then are the product's title, description and status updated."""

    handle: str
    parent: Listing
    variants: tuple[Listing, ...]
    has_content: bool = True
    #: The model's SKU when the variants have one: its placeholder variant is dropped.
    model_sku: str | None = None


def product_groups(listings: Sequence[Listing]) -> list[ProductGroup]:
    """Listings as products: variants share their ``parent_sku``; a listing whose SKU is a
    parent gives the product's content; any other listing is a product of its own."""
    by_sku = {listing.sku: listing for listing in listings}
    parents: dict[str, list[Listing]] = {}
    for listing in listings:
        if listing.parent_sku is not None:
            parents.setdefault(listing.parent_sku, []).append(listing)
    groups = [
        ProductGroup(
            handle_for(parent),
            by_sku.get(parent, variants[0]),
            tuple(variants),
            has_content=parent in by_sku,
            model_sku=parent,
        )
        for parent, variants in parents.items()
    ]
    for listing in listings:
        if listing.parent_sku is None and listing.sku not in parents:
            groups.append(ProductGroup(handle_for(listing.sku), listing, (listing,)))
    return groups


def variant_options(variants: Sequence[Listing]) -> dict[str, dict[str, str]]:
    """Each variant's option values by SKU (see the module's docstring for the rule)."""
    names = {tuple(sorted(v.options)) for v in variants}
    combos = {tuple(sorted(v.options.items())) for v in variants}
    own = len(names) == 1 and names != {()} and len(combos) == len(variants)
    if own:
        return {v.sku: {str(k): str(value) for k, value in v.options.items()} for v in variants}
    return {v.sku: {FALLBACK_OPTION: v.sku} for v in variants}


def option_bodies(options: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """The product's ``options`` (title and every value used) from its variants' values."""
    values: dict[str, list[str]] = {}
    for chosen in options.values():
        for title, value in chosen.items():
            if value not in values.setdefault(title, []):
                values[title].append(value)
    return [{"title": title, "values": found} for title, found in values.items()]


def product_status(variants: Sequence[Listing]) -> str:
    """Published while any variant may sell; a draft when every one is on hold."""
    return "draft" if all(v.on_hold for v in variants) else "published"


def price_body(price: ChannelPrice) -> dict[str, Any]:
    check_price(price)
    return {"currency_code": price.currency.lower(), "amount": float(price.amount)}


def check_price(price: ChannelPrice) -> None:
    if not re.fullmatch(r"[A-Za-z]{3}", price.currency):
        raise PermanentError(f"SKU {price.sku}: {price.currency!r} is not an ISO 4217 currency")
    if price.amount < 0:
        raise PermanentError(f"SKU {price.sku}: a price cannot be negative ({price.amount})")


def variant_body(listing: Listing, options: Mapping[str, str]) -> dict[str, Any]:
    """``AdminCreateProductVariant``: the SKU, its options and, when known, its price."""
    body: dict[str, Any] = {
        "title": listing.title,
        "sku": listing.sku,
        "manage_inventory": True,
        "allow_backorder": False,
        "options": dict(options),
        "prices": [price_body(listing.price)] if listing.price is not None else [],
    }
    if listing.gtin:
        body["ean"] = listing.gtin
    return body


def product_body(
    group: ProductGroup, *, sales_channel_id: str | None, shipping_profile_id: str | None
) -> dict[str, Any]:
    """``AdminCreateProduct`` for a group: content, options, variants, channel, status."""
    parent = group.parent
    options = variant_options(group.variants)
    body: dict[str, Any] = {
        "title": parent.title,
        "handle": group.handle,
        "description": parent.description,
        "status": product_status(group.variants),
        "options": option_bodies(options),
        "variants": [variant_body(v, options[v.sku]) for v in group.variants],
        "external_id": parent.parent_sku or parent.sku,
    }
    if parent.images:
        body["images"] = [{"url": url} for url in parent.images]
        body["thumbnail"] = parent.images[0]
    if sales_channel_id:
        body["sales_channels"] = [{"id": sales_channel_id}]
    if shipping_profile_id:
        body["shipping_profile_id"] = shipping_profile_id
    return body


def product_changes(group: ProductGroup, found: Mapping[str, Any]) -> dict[str, Any]:
    """``AdminUpdateProduct`` fields whose hub value differs from Medusa's."""
    parent = group.parent
    wanted = {
        "title": parent.title,
        "description": parent.description,
        "status": product_status(group.variants or (parent,)),
    }
    return {k: v for k, v in wanted.items() if (found.get(k) or "") != v}


def variant_changes(listing: Listing, found: Mapping[str, Any]) -> dict[str, Any]:
    """``AdminUpdateProductVariant`` fields whose hub value differs from Medusa's."""
    changes: dict[str, Any] = {}
    if found.get("title") != listing.title:
        changes["title"] = listing.title
    if listing.gtin and found.get("ean") != listing.gtin:
        changes["ean"] = listing.gtin
    return changes


def prices_with(existing: Sequence[Mapping[str, Any]], price: ChannelPrice) -> list[dict[str, Any]]:
    """A variant's whole price list with ``price`` set: Medusa replaces the list on update, so
    the prices of other currencies (and tiered or rule-bound ones) are sent back unchanged."""
    wanted = price_body(price)
    prices: list[dict[str, Any]] = []
    replaced = False
    for found in existing:
        same = (
            str(found.get("currency_code", "")).lower() == wanted["currency_code"]
            and not found.get("rules")
            and found.get("min_quantity") is None
            and found.get("max_quantity") is None
        )
        body = {k: found[k] for k in ("id", "currency_code", "amount") if k in found}
        for key in ("min_quantity", "max_quantity", "rules"):
            if found.get(key) not in (None, {}):
                body[key] = found[key]
        if same and not replaced:
            body["amount"] = wanted["amount"]
            replaced = True
        prices.append(body)
    if not replaced:
        prices.append(wanted)
    return prices


def current_amount(existing: Sequence[Mapping[str, Any]], currency: str) -> Decimal | None:
    """The plain (no rules, no tiers) price of ``currency`` in a variant's prices."""
    for found in existing:
        if (
            str(found.get("currency_code", "")).lower() == currency.lower()
            and not found.get("rules")
            and found.get("min_quantity") is None
        ):
            return to_decimal(found.get("amount"), "price amount")
    return None


# --- orders --------------------------------------------------------------------------------


def to_decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, Mapping):  # a raw BigNumber: {"value": "12.95", "precision": 20}
        value = value.get("value")
    try:
        return Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        raise PermanentError(f"Medusa sent {what} {value!r}, which is not a number") from None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    """Medusa's own timestamp format: UTC, milliseconds, ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def address_from_medusa(body: Any, email: str | None) -> ChannelAddress | None:
    if not isinstance(body, Mapping):
        return None
    name = " ".join(p for p in (body.get("first_name"), body.get("last_name")) if p) or None
    country = body.get("country_code")
    return ChannelAddress(
        name=name,
        line1=body.get("address_1") or None,
        line2=body.get("address_2") or None,
        postal_code=body.get("postal_code") or None,
        city=body.get("city") or None,
        region=body.get("province") or None,
        country=country.upper() if isinstance(country, str) and country else None,
        phone=body.get("phone") or None,
        email=email,
    )


def order_from_medusa(body: Mapping[str, Any]) -> ChannelOrder:
    """An ``AdminOrder`` (with the ``ORDER_FIELDS``) as the hub's ChannelOrder."""
    order_id = body.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise PermanentError(f"a Medusa order without an id: {str(body)[:200]}")
    created = parse_time(body.get("created_at"))
    if created is None:
        raise PermanentError(f"Medusa order {order_id} has no created_at")
    lines = []
    for item in body.get("items") or []:
        sku = item.get("variant_sku")
        if not sku:
            raise PermanentError(
                f"Medusa order {order_id}: line {item.get('id')} ({item.get('title')!r}) has no "
                "variant SKU, so the hub cannot tell what was sold"
            )
        quantity = to_decimal(item.get("quantity"), f"order {order_id} quantity")
        if quantity != int(quantity) or quantity <= 0:
            raise PermanentError(f"Medusa order {order_id}: quantity {quantity} of {sku}")
        lines.append(
            ChannelOrderLine(
                external_line_id=str(item["id"]),
                sku=str(sku),
                quantity=int(quantity),
                unit_price=to_decimal(item.get("unit_price"), f"order {order_id} unit price"),
                discount=to_decimal(item.get("discount_total"), "discount"),
                tax=to_decimal(item.get("tax_total"), "tax"),
            )
        )
    email = body.get("email") or None
    customer = body.get("customer") if isinstance(body.get("customer"), Mapping) else {}
    shipping = address_from_medusa(body.get("shipping_address"), email)
    customer_name = " ".join(
        p for p in ((customer or {}).get("first_name"), (customer or {}).get("last_name")) if p
    )
    return ChannelOrder(
        external_id=order_id,
        created_at=created,
        currency=str(body.get("currency_code") or "").upper(),
        lines=tuple(lines),
        customer_email=email,
        customer_name=customer_name or (shipping.name if shipping else None),
        customer_external_id=body.get("customer_id") or None,
        shipping_address=shipping,
        billing_address=address_from_medusa(body.get("billing_address"), email),
        is_paid=body.get("payment_status") in PAID_STATES,
        cancelled=body.get("status") == "canceled",
        updated_at=parse_time(body.get("updated_at")),
    )


def fulfilled_quantities(order: Mapping[str, Any]) -> dict[str, int]:
    """Units already fulfilled in Medusa, by order line id (from each item's ``detail``)."""
    done: dict[str, int] = {}
    for item in order.get("items") or []:
        detail = item.get("detail") or {}
        done[str(item.get("id"))] = int(to_decimal(detail.get("fulfilled_quantity"), "quantity"))
    return done


@dataclass(frozen=True)
class OrderCursor:
    """Where order polling stands: orders updated at or after ``since``; those of ``seen``
    were updated exactly at ``since`` and already read (timestamps tie at millisecond grain)."""

    since: datetime | None = None
    seen: tuple[str, ...] = ()
    offset: int = 0

    @classmethod
    def parse(cls, cursor: str | None) -> OrderCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            return cls(
                parse_time(data.get("since")),
                tuple(str(i) for i in data.get("seen", [])),
                max(0, int(data.get("offset", 0))),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # unreadable: start over (order imports are idempotent)

    def dump(self) -> str:
        since = format_time(self.since) if self.since else None
        return json.dumps({"since": since, "seen": list(self.seen), "offset": self.offset})

    def params(self, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "fields": ORDER_FIELDS,
            "order": "updated_at",
            "limit": limit,
            "offset": self.offset,
        }
        if self.since is not None:
            params["updated_at[$gte]"] = format_time(self.since)
        return params

    def advance(self, page: Sequence[Mapping[str, Any]], limit: int) -> OrderCursor:
        """The cursor after reading ``page`` (sorted by updated_at)."""
        times = [(parse_time(o.get("updated_at")), str(o.get("id"))) for o in page]
        stamps = [t for t, _ in times if t is not None]
        if not stamps:
            return self
        high = max(stamps)
        at_high = tuple(i for t, i in times if t == high)
        if self.since is not None and high == self.since:
            seen = tuple(dict.fromkeys((*self.seen, *at_high)))
            # A full page all at one instant: page on by offset rather than loop on it.
            offset = self.offset + len(page) if len(page) >= limit else 0
            return OrderCursor(self.since, seen, offset)
        return OrderCursor(high, at_high, 0)

    def is_new(self, order: Mapping[str, Any]) -> bool:
        return not (
            self.since is not None
            and parse_time(order.get("updated_at")) == self.since
            and str(order.get("id")) in self.seen
        )
