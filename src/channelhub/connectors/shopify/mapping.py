"""Between the hub's values and Shopify's shapes (Admin API 2026-01).

Outbound: listings grouped into ``productSet`` inputs (one product per model, one variant per
sellable SKU, options from the variants' values on their family's axes). Inbound: an order
as the GraphQL ``Order`` object (polling) or as the REST-format
``orders/*`` webhook body; both give the same ``ChannelOrder``, keyed by the order's global ID.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channelhub.connectors.base import (
    ChannelAddress,
    ChannelOrder,
    ChannelOrderLine,
    Listing,
    PermanentError,
)
from channelhub.core.money import round_to

DEFAULT_OPTION = ("Title", "Default Title")  # Shopify's option of a product without variants
MAX_OPTIONS = 3  # ProductSetInput.productOptions: "maximum of 3 per product"
PAID_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})


@dataclass(frozen=True)
class ProductGroup:
    """One Shopify product: its handle (the hub's parent SKU) and its variants' listings."""

    handle: str
    parent: Listing
    variants: tuple[Listing, ...]


def handle_for(sku: str) -> str:
    """The product handle for a parent SKU: stable, so repeating a push updates, not adds."""
    handle = re.sub(r"[^a-z0-9]+", "-", sku.lower()).strip("-")
    return handle or "product"


def group_listings(listings: Sequence[Listing]) -> list[ProductGroup]:
    """Listings as products, one per handle. A model sent with its ``variants`` is the whole
    product (the engine sends it for every variant's job, so it may come more than once).
    Otherwise variants share their ``parent_sku``, and a listing whose SKU is a parent SKU in
    the batch gives the product's title and description."""
    groups: dict[str, ProductGroup] = {}
    for listing in listings:
        if listing.variants:
            handle = handle_for(listing.sku)
            groups.setdefault(handle, ProductGroup(handle, listing, listing.variants))
    rest = [
        x for x in listings if not x.variants and handle_for(x.parent_sku or x.sku) not in groups
    ]
    by_sku = {listing.sku: listing for listing in rest}
    parents: dict[str, list[Listing]] = {}
    for listing in rest:
        if listing.parent_sku is not None:
            parents.setdefault(listing.parent_sku, []).append(listing)
    for parent_sku, variants in parents.items():
        parent = by_sku.get(parent_sku, variants[0])
        groups[handle_for(parent_sku)] = ProductGroup(
            handle_for(parent_sku), parent, tuple(variants)
        )
    for listing in rest:
        if listing.parent_sku is None and listing.sku not in parents:
            groups[handle_for(listing.sku)] = ProductGroup(
                handle_for(listing.sku), listing, (listing,)
            )
    return list(groups.values())


def product_set_input(group: ProductGroup, currency: str | None = None) -> dict[str, Any]:
    """The ``ProductSetInput`` for one product: its options, and every variant with its option
    values, SKU, barcode, tracked inventory item and, when the listing carries one in the
    shop's ``currency``, its price. Stock quantities are left out on purpose: they travel with
    ``inventorySetQuantities``, compared against Shopify's quantity, so a content push never
    resets a sale made meanwhile."""
    option_names: list[str] = []
    option_values: dict[str, list[str]] = {}
    for variant in group.variants:
        for name, option_value in variant.options.items():
            if name not in option_values:
                option_names.append(name)
                option_values[name] = []
            if option_value not in option_values[name]:
                option_values[name].append(option_value)
    if len(option_names) > MAX_OPTIONS:
        raise PermanentError(
            f"product {group.parent.sku} has {len(option_names)} options "
            f"({', '.join(option_names)}); Shopify allows at most {MAX_OPTIONS}"
        )
    uses_default = not option_names
    if uses_default:
        if len(group.variants) > 1:
            skus = ", ".join(v.sku for v in group.variants)
            raise PermanentError(
                f"variants {skus} of {group.parent.sku} have no options to tell them apart"
            )
        option_names = [DEFAULT_OPTION[0]]
        option_values = {DEFAULT_OPTION[0]: [DEFAULT_OPTION[1]]}
    variants = []
    for variant in group.variants:
        values = []
        for name in option_names:
            value: str | None = DEFAULT_OPTION[1] if uses_default else variant.options.get(name)
            if value is None:
                raise PermanentError(f"variant {variant.sku} has no value for option {name!r}")
            values.append({"optionName": name, "name": value})
        entry: dict[str, Any] = {
            "optionValues": values,
            "sku": variant.sku,
            "inventoryItem": {"tracked": True},
        }
        if variant.gtin:
            entry["barcode"] = variant.gtin
        price = variant.price
        if price is not None and currency is not None and price.currency == currency:
            entry["price"] = f"{price.amount:.2f}"
            entry["compareAtPrice"] = (
                None if price.compare_at is None else f"{price.compare_at:.2f}"
            )
        variants.append(entry)
    parent = group.parent
    product: dict[str, Any] = {
        "handle": group.handle,
        "title": parent.title,
        "descriptionHtml": parent.description,
        "status": "DRAFT" if parent.on_hold else "ACTIVE",
        "productOptions": [
            {"name": name, "values": [{"name": value} for value in option_values[name]]}
            for name in option_names
        ],
        "variants": variants,
    }
    if parent.brand:
        product["vendor"] = parent.brand
    if parent.category:
        product["productType"] = parent.category
    images = [image for listing in (parent, *group.variants) for image in listing.images]
    if images:
        product["files"] = [
            {"originalSource": url, "contentType": "IMAGE"} for url in dict.fromkeys(images)
        ]
    return product


# --- orders ---------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise PermanentError(f"Shopify sent an amount that is not a number: {value!r}") from error


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PermanentError(f"Shopify sent a time that is not a string: {value!r}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise PermanentError(f"Shopify sent an unreadable time: {value!r}") from error


def _shop_amount(money_bag: Any) -> Decimal:
    if not isinstance(money_bag, Mapping):
        return Decimal(0)
    return _decimal((money_bag.get("shopMoney") or {}).get("amount"))


def _name(first: Any, last: Any) -> str | None:
    return " ".join(str(part) for part in (first, last) if part) or None


def _order_line(
    *,
    external_line_id: str,
    sku: str,
    quantity: int,
    unit_price: Decimal,
    discount: Decimal,
    tax: Decimal,
    taxes_included: bool,
) -> ChannelOrderLine:
    """One line as the hub counts it: a unit price before tax, with the tax added on top.

    When the shop's prices include tax (the order's ``taxesIncluded``, ``taxes_included`` in
    webhooks), Shopify's unit price and discount already hold the tax its tax lines name, so
    the tax is taken out of the unit price (to the cent) and the line's tax is what remains:
    the hub's line total is then exactly what the customer paid.
    """
    if taxes_included and quantity > 0 and tax:
        gross = unit_price * quantity
        unit_price = round_to((gross - tax) / quantity, 2)
        tax = gross - unit_price * quantity
    return ChannelOrderLine(external_line_id, sku, quantity, unit_price, discount, tax)


def order_from_graphql(node: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> ChannelOrder:
    """A ChannelOrder from the ``OrderFields`` fragment and all of its line items."""
    customer = node.get("customer") or {}
    email_address = (customer.get("defaultEmailAddress") or {}).get("emailAddress")
    email = node.get("email") or email_address
    return ChannelOrder(
        external_id=str(node["id"]),
        created_at=_time(node["createdAt"]),
        updated_at=_time(node["updatedAt"]) if node.get("updatedAt") else None,
        currency=str(node["currencyCode"]),
        lines=tuple(
            _order_line(
                external_line_id=str(line["id"]),
                sku=line.get("sku") or "",
                quantity=int(line.get("currentQuantity", line.get("quantity")) or 0),
                unit_price=_shop_amount(line.get("originalUnitPriceSet")),
                discount=_shop_amount(line.get("totalDiscountSet")),
                tax=sum(
                    (_shop_amount(tax.get("priceSet")) for tax in line.get("taxLines") or []),
                    Decimal(0),
                ),
                taxes_included=bool(node.get("taxesIncluded")),
            )
            for line in lines
        ),
        customer_email=email,
        customer_name=_name(customer.get("firstName"), customer.get("lastName")),
        customer_external_id=customer.get("id"),
        shipping_address=_address_from_graphql(node.get("shippingAddress"), email),
        billing_address=_address_from_graphql(node.get("billingAddress"), email),
        is_paid=node.get("displayFinancialStatus") in PAID_STATUSES,
        cancelled=node.get("cancelledAt") is not None,
    )


def _address_from_graphql(address: Any, email: str | None) -> ChannelAddress | None:
    if not isinstance(address, Mapping):
        return None
    return ChannelAddress(
        name=address.get("name"),
        line1=address.get("address1"),
        line2=address.get("address2"),
        postal_code=address.get("zip"),
        city=address.get("city"),
        region=address.get("provinceCode"),
        country=address.get("countryCodeV2"),
        phone=address.get("phone"),
        email=email,
    )


def order_from_webhook(payload: Mapping[str, Any]) -> ChannelOrder:
    """A ChannelOrder from an ``orders/create`` / ``orders/updated`` body (the REST order
    resource that webhooks carry), keyed like polled orders by ``admin_graphql_api_id``."""
    try:
        external_id = payload.get("admin_graphql_api_id") or f"gid://shopify/Order/{payload['id']}"
        customer = payload.get("customer") or {}
        email = payload.get("email") or payload.get("contact_email") or customer.get("email")
        lines = tuple(
            _order_line(
                external_line_id=line.get("admin_graphql_api_id")
                or f"gid://shopify/LineItem/{line['id']}",
                sku=line.get("sku") or "",
                quantity=int(line.get("current_quantity", line.get("quantity")) or 0),
                unit_price=_decimal(line.get("price")),
                discount=_decimal(line.get("total_discount")),
                tax=sum(
                    (_decimal(tax.get("price")) for tax in line.get("tax_lines") or []),
                    Decimal(0),
                ),
                taxes_included=bool(payload.get("taxes_included")),
            )
            for line in payload.get("line_items") or []
        )
        financial_status = str(payload.get("financial_status") or "").upper()
        return ChannelOrder(
            external_id=str(external_id),
            created_at=_time(payload["created_at"]),
            updated_at=_time(payload["updated_at"]) if payload.get("updated_at") else None,
            currency=str(payload["currency"]),
            lines=lines,
            customer_email=email,
            customer_name=_name(customer.get("first_name"), customer.get("last_name")),
            customer_external_id=customer.get("admin_graphql_api_id")
            or (f"gid://shopify/Customer/{customer['id']}" if customer.get("id") else None),
            shipping_address=_address_from_webhook(payload.get("shipping_address"), email),
            billing_address=_address_from_webhook(payload.get("billing_address"), email),
            is_paid=financial_status in PAID_STATUSES,
            cancelled=payload.get("cancelled_at") is not None,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise PermanentError(f"unreadable Shopify order webhook: {error!r}") from error


def _address_from_webhook(address: Any, email: str | None) -> ChannelAddress | None:
    if not isinstance(address, Mapping):
        return None
    return ChannelAddress(
        name=address.get("name") or _name(address.get("first_name"), address.get("last_name")),
        line1=address.get("address1"),
        line2=address.get("address2"),
        postal_code=address.get("zip"),
        city=address.get("city"),
        region=address.get("province_code"),
        country=address.get("country_code"),
        phone=address.get("phone"),
        email=email,
    )
