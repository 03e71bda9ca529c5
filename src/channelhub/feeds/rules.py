"""The specification rules each feed item must meet before it may leave the hub. Pure.

Google Merchant Center's product data specification: id at most 50 characters, title 150,
description 5,000, brand 70, mpn 70, item_group_id 50, color and size 100, product_type 750;
link and image_link absolute http(s) URLs of at most 2,000 characters, up to 10
additional_image_link; availability in_stock, out_of_stock, preorder or backorder; price (and
sale_price) as "15.00 EUR", a positive number and an ISO 4217 code, a sale price below the
price; a gtin of 8, 12, 13 or 14 digits with a valid GS1 check digit; brand required for new
products; identifier_exists "no" when neither gtin nor mpn is given; condition new,
refurbished or used. Local inventory: store_code (at most 64), id, a whole non-negative
quantity, availability in_stock, limited_availability, on_display_to_order or out_of_stock.
Meta's catalog: id 100, title 200, description 9,999, brand 100, availability "in stock",
"out of stock", "preorder", "available for order" or "discontinued", condition required, up to
20 additional images.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from channelhub.catalog.model import is_valid_gtin
from channelhub.feeds.model import COLUMNS, LIST_SEPARATOR, FeedKind, Violation

PRICE_PATTERN = re.compile(r"^(\d{1,13})(\.\d{1,4})? ([A-Z]{3})$")
URL_MAX = 2000
_URL_FORBIDDEN = re.compile(r'[\s"<>]')
GOOGLE_AVAILABILITY = frozenset({"in_stock", "out_of_stock", "preorder", "backorder"})
LOCAL_AVAILABILITY = frozenset(
    {"in_stock", "limited_availability", "on_display_to_order", "out_of_stock"}
)
META_AVAILABILITY = frozenset(
    {"in stock", "out of stock", "preorder", "available for order", "discontinued"}
)
CONDITIONS = frozenset({"new", "refurbished", "used"})


@dataclass(frozen=True)
class ColumnRule:
    """What one column accepts: presence, length, allowed values and a value check."""

    name: str
    required: bool = False
    max_length: int | None = None
    allowed: frozenset[str] | None = None
    check: Callable[[str], str | None] | None = None
    max_items: int | None = None


def check_url(value: str) -> str | None:
    if not value.startswith(("http://", "https://")):
        return "is not an absolute http(s) URL"
    if len(value) > URL_MAX:
        return f"is {len(value)} characters long, at most {URL_MAX} allowed"
    if _URL_FORBIDDEN.search(value):
        return "contains characters a URL may not hold unencoded (spaces, quotes, < or >)"
    return None


def check_price(value: str) -> str | None:
    match = PRICE_PATTERN.match(value)
    if match is None:
        return f'{value!r} is not a price like "15.00 EUR" (amount, a space, ISO 4217 code)'
    if int(match.group(1)) == 0 and not (match.group(2) or "").strip(".0"):
        return "must be greater than 0"
    return None


def check_gtin(value: str) -> str | None:
    if not value.isdigit():
        return f"{value!r} is not a GTIN: digits only"
    if len(value) not in (8, 12, 13, 14):
        return f"{value!r} has {len(value)} digits; a GTIN has 8, 12, 13 or 14"
    if not is_valid_gtin(value):
        return f"{value!r} has a wrong check digit"
    return None


def check_quantity(value: str) -> str | None:
    if not value.isdigit():
        return f"{value!r} is not a whole number of 0 or more"
    return None


def check_yes_no(value: str) -> str | None:
    return None if value in ("yes", "no") else f"{value!r} is not yes or no"


_GOOGLE = (
    ColumnRule("id", required=True, max_length=50),
    ColumnRule("item_group_id", max_length=50),
    ColumnRule("title", required=True, max_length=150),
    ColumnRule("description", required=True, max_length=5000),
    ColumnRule("link", required=True, check=check_url),
    ColumnRule("image_link", required=True, check=check_url),
    ColumnRule("additional_image_link", check=check_url, max_items=10),
    ColumnRule("availability", required=True, allowed=GOOGLE_AVAILABILITY),
    ColumnRule("price", required=True, check=check_price),
    ColumnRule("sale_price", check=check_price),
    ColumnRule("brand", max_length=70),
    ColumnRule("gtin", max_length=50, check=check_gtin),
    ColumnRule("mpn", max_length=70),
    ColumnRule("identifier_exists", check=check_yes_no),
    ColumnRule("condition", allowed=CONDITIONS),
    ColumnRule("google_product_category", max_length=750),
    ColumnRule("product_type", max_length=750),
    ColumnRule("color", max_length=100),
    ColumnRule("size", max_length=100),
)
_LOCAL = (
    ColumnRule("store_code", required=True, max_length=64),
    ColumnRule("id", required=True, max_length=50),
    ColumnRule("quantity", required=True, check=check_quantity),
    ColumnRule("price", check=check_price),
    ColumnRule("availability", required=True, allowed=LOCAL_AVAILABILITY),
)
_META = (
    ColumnRule("id", required=True, max_length=100),
    ColumnRule("title", required=True, max_length=200),
    ColumnRule("description", required=True, max_length=9999),
    ColumnRule("availability", required=True, allowed=META_AVAILABILITY),
    ColumnRule("condition", required=True, allowed=CONDITIONS),
    ColumnRule("price", required=True, check=check_price),
    ColumnRule("link", required=True, check=check_url),
    ColumnRule("image_link", required=True, check=check_url),
    ColumnRule("brand", required=True, max_length=100),
    ColumnRule("additional_image_link", check=check_url, max_items=20),
    ColumnRule("sale_price", check=check_price),
    ColumnRule("item_group_id", max_length=100),
    ColumnRule("gtin", max_length=50, check=check_gtin),
    ColumnRule("mpn", max_length=100),
    ColumnRule("google_product_category", max_length=750),
    ColumnRule("color", max_length=200),
    ColumnRule("size", max_length=200),
)

RULES: dict[FeedKind, tuple[ColumnRule, ...]] = {
    FeedKind.GOOGLE_PRODUCTS: _GOOGLE,
    FeedKind.GOOGLE_LOCAL_INVENTORY: _LOCAL,
    FeedKind.META_CATALOG: _META,
}

for _kind, _rules in RULES.items():  # the rules and the columns are kept in one order
    assert tuple(r.name for r in _rules) == COLUMNS[_kind], _kind


def _check_column(rule: ColumnRule, value: str, item: str, found: list[Violation]) -> None:
    if not value:
        if rule.required:
            found.append(Violation(item, rule.name, "required", f"{rule.name} is required"))
        return
    if rule.max_items is not None:
        values = value.split(LIST_SEPARATOR)
        if len(values) > rule.max_items:
            found.append(
                Violation(
                    item,
                    rule.name,
                    "max_items",
                    f"{rule.name} has {len(values)} values, at most {rule.max_items} allowed",
                )
            )
    else:
        values = [value]
    for one in values:
        if rule.max_length is not None and len(one) > rule.max_length:
            found.append(
                Violation(
                    item,
                    rule.name,
                    "max_length",
                    f"{rule.name} is {len(one)} characters long, at most {rule.max_length} allowed",
                )
            )
        if rule.allowed is not None and one not in rule.allowed:
            found.append(
                Violation(
                    item,
                    rule.name,
                    "allowed_values",
                    f"{rule.name} {one!r} is not one of {', '.join(sorted(rule.allowed))}",
                )
            )
        if rule.check is not None:
            reason = rule.check(one)
            if reason is not None:
                found.append(Violation(item, rule.name, _rule_name(rule), f"{rule.name} {reason}"))


_RULE_NAMES: dict[Callable[[str], str | None], str] = {
    check_url: "url",
    check_price: "price_format",
    check_gtin: "gtin_check_digit",
    check_quantity: "quantity",
    check_yes_no: "allowed_values",
}


def _rule_name(rule: ColumnRule) -> str:
    return "format" if rule.check is None else _RULE_NAMES.get(rule.check, "format")


def _compile(rules: tuple[ColumnRule, ...]) -> Callable[[Sequence[str]], bool]:
    """One function that says whether every column rule holds, with the rules unrolled into
    straight-line code: the hot path of every generation (no messages built, no loops over
    rule objects). ``_check_column`` gives the reasons when it says no."""
    namespace: dict[str, object] = {"SEPARATOR": LIST_SEPARATOR}
    lines = ["def passes(item):"]

    def checks(rule: ColumnRule, i: int, name: str, indent: str) -> None:
        if rule.max_length is not None:
            lines.append(f"{indent}if len({name}) > {rule.max_length}: return False")
        if rule.allowed is not None:
            namespace[f"allowed_{i}"] = rule.allowed
            lines.append(f"{indent}if {name} not in allowed_{i}: return False")
        if rule.check is not None:
            namespace[f"check_{i}"] = rule.check
            lines.append(f"{indent}if check_{i}({name}) is not None: return False")

    for i, rule in enumerate(rules):
        lines.append(f"    v = item[{i}]")
        lines.append("    if v:")
        if rule.max_items is not None:
            lines.append("        parts = v.split(SEPARATOR)")
            lines.append(f"        if len(parts) > {rule.max_items}: return False")
            lines.append("        for one in parts:")
            checks(rule, i, "one", " " * 12)
            lines.append("            pass")
        else:
            checks(rule, i, "v", " " * 8)
            lines.append("        pass")
        if rule.required:
            lines.append("    else: return False")
    lines.append("    return True")
    exec("\n".join(lines), namespace)  # the source is built above from constants only
    compiled = namespace["passes"]
    assert callable(compiled)
    return compiled


def validate_item(kind: FeedKind, item: Sequence[str]) -> list[Violation]:
    """Every rule ``item`` (values aligned with the kind's columns) breaks; empty when valid."""
    if _PASSES[kind](item) and _item_passes(kind, item):
        return []
    return explain_item(kind, item)


def explain_item(kind: FeedKind, item: Sequence[str]) -> list[Violation]:
    """Every rule ``item`` breaks, each with its reason (the slow path of ``validate_item``)."""
    rules = RULES[kind]
    name = item[1] if kind is FeedKind.GOOGLE_LOCAL_INVENTORY else item[0]
    label = (f"{item[0]}/{name}" if kind is FeedKind.GOOGLE_LOCAL_INVENTORY else name) or "?"
    found: list[Violation] = []
    for rule, value in zip(rules, item, strict=True):
        _check_column(rule, value, label, found)
    if kind is FeedKind.GOOGLE_PRODUCTS:
        _check_google_item(item, label, found)
    elif kind is FeedKind.META_CATALOG:
        _check_sale_price(item[5], item[10], label, found)
    return found


_PASSES = {kind: _compile(rules) for kind, rules in RULES.items()}
_G = {name: i for i, name in enumerate(COLUMNS[FeedKind.GOOGLE_PRODUCTS])}
_G_CONDITION, _G_BRAND, _G_GTIN, _G_MPN = _G["condition"], _G["brand"], _G["gtin"], _G["mpn"]
_G_EXISTS, _G_PRICE, _G_SALE = _G["identifier_exists"], _G["price"], _G["sale_price"]


def _item_passes(kind: FeedKind, item: Sequence[str]) -> bool:
    """Whether the rules across columns hold (brand, identifiers, sale price)."""
    if kind is FeedKind.GOOGLE_PRODUCTS:
        if (item[_G_CONDITION] or "new") == "new" and not item[_G_BRAND]:
            return False
        exists, gtin = item[_G_EXISTS], item[_G_GTIN]
        if exists == "no" and gtin:
            return False
        if not gtin and not item[_G_MPN] and exists != "no":
            return False
        sale = item[_G_SALE]
        if sale:
            found: list[Violation] = []
            _check_sale_price(item[_G_PRICE], sale, "", found)
            return not found
        return True
    if kind is FeedKind.META_CATALOG and item[10]:
        found = []
        _check_sale_price(item[5], item[10], "", found)
        return not found
    return True


def _check_google_item(item: Sequence[str], label: str, found: list[Violation]) -> None:
    condition = item[_G["condition"]] or "new"
    brand, gtin, mpn = item[_G["brand"]], item[_G["gtin"]], item[_G["mpn"]]
    if condition == "new" and not brand:
        found.append(Violation(label, "brand", "required", "brand is required for new products"))
    exists = item[_G["identifier_exists"]]
    if not gtin and not mpn and exists != "no":
        found.append(
            Violation(
                label,
                "identifier_exists",
                "identifier_exists",
                "an item without gtin or mpn must say identifier_exists no",
            )
        )
    if exists == "no" and gtin:
        found.append(
            Violation(
                label,
                "identifier_exists",
                "identifier_exists",
                "identifier_exists is no but a gtin is given",
            )
        )
    _check_sale_price(item[_G["price"]], item[_G["sale_price"]], label, found)


def _check_sale_price(price: str, sale: str, label: str, found: list[Violation]) -> None:
    if not price or not sale:
        return
    p, s = PRICE_PATTERN.match(price), PRICE_PATTERN.match(sale)
    if p is None or s is None:
        return
    if p.group(3) != s.group(3):
        found.append(
            Violation(label, "sale_price", "sale_price", "sale_price has another currency")
        )
    elif Decimal(s.group(1) + (s.group(2) or "")) >= Decimal(p.group(1) + (p.group(2) or "")):
        found.append(Violation(label, "sale_price", "sale_price", "sale_price must be below price"))
