"""The specification rules each feed item must meet before it may leave the hub. Pure.

Every rule cites the page it was written from (Google Merchant Center help pages by their
``support.google.com/merchants/answer/<n>`` number, Meta's developer pages by path):

- Google product data specification (answer/7052112): id 1-50 characters (answer/6324405),
  title 150, description 5,000, brand 70, mpn 70, item_group_id 50, color and size 100,
  product_type 750; availability in_stock, out_of_stock, preorder or backorder; price and
  sale_price "15.00 EUR" (a positive number and an ISO 4217 code); sale_price below price;
  brand required for new products; identifier_exists "no" when neither gtin nor mpn is given;
  condition new, refurbished or used.
- URLs (link answer/6324416, image_link answer/6324350, additional_image_link answer/6324370):
  "URL (including http or https), ASCII characters only, and RFC 3986 compliant", 1-2,000
  characters; commas inside an image URL encoded as %2C, because text feeds separate the
  additional images with commas.
- GTIN (answer/6324461): 8, 12, 13 or 14 digits with a valid GS1 check digit; not in the
  restricted range, "codes start with 2, 02, or 04" where "the first digit of a 14-digit GTIN
  is not considered a part of a prefix" (answer/6286293); not a coupon number, "starts with
  981, 982, 983, 984, 99, or 05" (answer/6286302). The prefixes are read on the GTIN's
  13-digit form (GTIN-12 padded with a leading 0, GTIN-14 without its indicator digit), and
  on the digits as given for a GTIN-8.
- sale_price_effective_date (answer/6324460): an ISO 8601 start and end, "/"-separated, at
  most 51 characters.
- Ids (answer/6324405; Manufacturer Center answer/7495188: "we interpret the ID abc123 and
  ABC123 as the same product"): unique per feed without regard to case (checked by the
  generation, which sees every item; local inventory per store).
- Text: no control characters (C0 but tab, line feed and carriage return; DEL; C1) and no
  Unicode non-characters U+FFFE and U+FFFF: XML 1.0 cannot hold most of them, and an item must
  carry the same values in XML and in TSV, so such an item is held back rather than altered.
- Currency: every price in the channel's currency (a price list in another currency gives
  "price currency X does not match channel currency Y").
- Local inventory (answer/14819809): store_code (at most 64), id, a whole non-negative
  quantity, availability in_stock, limited_availability, on_display_to_order or out_of_stock,
  price and sale_price with sale_price_effective_date.
- Meta's catalog (developers.facebook.com/docs/marketing-api/catalog/reference and
  .../commerce-platform/catalog/best-practices, see shared/specs/meta/catalog-notes.md): id
  100, title 200, description 9,999, brand 100, availability "in stock", "out of stock",
  "preorder", "available for order" or "discontinued", condition required, up to 20
  additional images; "Ensure that the description does not contain HTML tags or character
  entities" (applied to the title too); URLs and control characters as for Google.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from channelhub.catalog.model import is_valid_gtin
from channelhub.feeds.model import COLUMNS, LIST_COLUMNS, LIST_SEPARATOR, FeedKind, Violation

PRICE_PATTERN = re.compile(r"^(\d{1,13})(\.\d{1,4})? ([A-Z]{3})$")
URL_MAX = 2000
#: RFC 3986 (section 2): unreserved and reserved characters and percent-encodings only, in
#: ASCII; a scheme, "://" and a host (answer/6324416, answer/6324350).
_URL = re.compile(
    r"^https?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+"
    r"(?:[/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#\[\]-]*)?$"
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: C0 controls but tab, LF and CR; DEL; C1 controls; U+FFFE and U+FFFF; lone surrogates.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
#: Meta: no HTML tags or character entities in the description (and title).
_HTML = re.compile(
    r"<[A-Za-z/!][^>]*>|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});"
)
#: ISO 8601 date and time with minutes, seconds optional, and a zone (Z or +hhmm / +hh:mm).
_DATE_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})"
_EFFECTIVE_DATE = re.compile(f"^{_DATE_TIME}/{_DATE_TIME}$")
#: GTIN prefixes Google disapproves, on the 13-digit form (answer/6286293, answer/6286302).
RESTRICTED_GTIN_PREFIXES = ("2", "02", "04")
COUPON_GTIN_PREFIXES = ("981", "982", "983", "984", "99", "05")
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
    """An absolute http(s) URL in ASCII with RFC 3986 characters only (answer/6324416)."""
    if not value.startswith(("http://", "https://")):
        return "is not an absolute http(s) URL"
    if len(value) > URL_MAX:
        return f"is {len(value)} characters long, at most {URL_MAX} allowed"
    if _URL.match(value) is None:
        bad = next((c for c in value if not c.isascii() or c in ' "<>\\^`{|}'), None)
        if bad is None:
            return "is not an RFC 3986 URL with a host"
        return f"holds {bad!r}, which a URL may not hold unencoded (ASCII, RFC 3986 only)"
    if _BAD_PERCENT.search(value):
        return "holds a '%' that does not start a percent-encoding (%XX)"
    return None


def check_image_url(value: str) -> str | None:
    """``check_url``, and no comma: text feeds separate image URLs with commas, so one inside
    a URL must be encoded as %2C (answer/6324350, answer/6324370)."""
    reason = check_url(value)
    if reason is None and "," in value:
        return "holds a comma: encode it as %2C (text feeds separate image URLs with commas)"
    return reason


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
    return check_gtin_prefix(value)


def check_gtin_prefix(value: str) -> str | None:
    """Restricted (in-store, internal) and coupon numbers Google disapproves."""
    form = value if len(value) == 8 else value.zfill(14)[1:]
    if form.startswith(RESTRICTED_GTIN_PREFIXES):
        return (
            f"{value!r} is in the restricted range (prefixes 2, 02, 04: in-store and internal "
            "numbers)"
        )
    if form.startswith(COUPON_GTIN_PREFIXES):
        return f"{value!r} is a coupon number (prefixes 981-984, 99, 05)"
    return None


def check_quantity(value: str) -> str | None:
    if not value.isdigit():
        return f"{value!r} is not a whole number of 0 or more"
    return None


def check_yes_no(value: str) -> str | None:
    return None if value in ("yes", "no") else f"{value!r} is not yes or no"


def check_effective_date(value: str) -> str | None:
    """ISO 8601 start/end, at most 51 characters (answer/6324460)."""
    if len(value) > 51 or _EFFECTIVE_DATE.match(value) is None:
        return (
            f"{value!r} is not an ISO 8601 start and end like "
            '"2026-12-01T00:00+0000/2026-12-31T23:59+0000"'
        )
    return None


def check_no_html(value: str) -> str | None:
    """Meta: no HTML tags or character entities (commerce-platform/catalog/best-practices)."""
    found = _HTML.search(value)
    return None if found is None else f"holds HTML ({found.group(0)!r}); give plain text"


_GOOGLE = (
    ColumnRule("id", required=True, max_length=50),
    ColumnRule("item_group_id", max_length=50),
    ColumnRule("title", required=True, max_length=150),
    ColumnRule("description", required=True, max_length=5000),
    ColumnRule("link", required=True, check=check_url),
    ColumnRule("image_link", required=True, check=check_image_url),
    ColumnRule("additional_image_link", check=check_image_url, max_items=10),
    ColumnRule("availability", required=True, allowed=GOOGLE_AVAILABILITY),
    ColumnRule("price", required=True, check=check_price),
    ColumnRule("sale_price", check=check_price),
    ColumnRule("sale_price_effective_date", check=check_effective_date),
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
    ColumnRule("sale_price", check=check_price),
    ColumnRule("sale_price_effective_date", check=check_effective_date),
    ColumnRule("availability", required=True, allowed=LOCAL_AVAILABILITY),
)
_META = (
    ColumnRule("id", required=True, max_length=100),
    ColumnRule("title", required=True, max_length=200, check=check_no_html),
    ColumnRule("description", required=True, max_length=9999, check=check_no_html),
    ColumnRule("availability", required=True, allowed=META_AVAILABILITY),
    ColumnRule("condition", required=True, allowed=CONDITIONS),
    ColumnRule("price", required=True, check=check_price),
    ColumnRule("link", required=True, check=check_url),
    ColumnRule("image_link", required=True, check=check_image_url),
    ColumnRule("brand", required=True, max_length=100),
    ColumnRule("additional_image_link", check=check_image_url, max_items=20),
    ColumnRule("sale_price", check=check_price),
    ColumnRule("sale_price_effective_date", check=check_effective_date),
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
    check_image_url: "url",
    check_price: "price_format",
    check_gtin: "gtin",
    check_quantity: "quantity",
    check_yes_no: "allowed_values",
    check_effective_date: "date_format",
    check_no_html: "html",
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


def validate_item(
    kind: FeedKind, item: Sequence[str], currency: str | None = None
) -> list[Violation]:
    """Every rule ``item`` (values aligned with the kind's columns) breaks; empty when valid.
    ``currency``: the channel's, which every price must be in."""
    if _PASSES[kind](item) and _item_passes(kind, item, currency):
        return []
    return explain_item(kind, item, currency)


def item_label(kind: FeedKind, item: Sequence[str]) -> str:
    """How the report names an item: its id (local inventory: store/id)."""
    if kind is FeedKind.GOOGLE_LOCAL_INVENTORY:
        return f"{item[0]}/{item[1]}"
    return item[0] or "?"


def explain_item(
    kind: FeedKind, item: Sequence[str], currency: str | None = None
) -> list[Violation]:
    """Every rule ``item`` breaks, each with its reason (the slow path of ``validate_item``)."""
    rules = RULES[kind]
    label = item_label(kind, item)
    found: list[Violation] = []
    for rule, value in zip(rules, item, strict=True):
        text = value.replace(LIST_SEPARATOR, "") if rule.max_items is not None else value
        bad = CONTROL_CHARACTERS.search(text)
        if bad is not None:
            found.append(
                Violation(
                    label,
                    rule.name,
                    "control_character",
                    f"{rule.name} holds the control character U+{ord(bad.group(0)):04X}",
                )
            )
            continue
        _check_column(rule, value, label, found)
    index = _INDEX[kind]
    if kind is FeedKind.GOOGLE_PRODUCTS:
        _check_google_item(item, label, found)
    for name in ("price", "sale_price"):
        _check_currency(name, item[index[name]], currency, label, found)
    _check_sale_price(item[index["price"]], item[index["sale_price"]], label, found)
    return found


_PASSES = {kind: _compile(rules) for kind, rules in RULES.items()}
_INDEX = {kind: {name: i for i, name in enumerate(columns)} for kind, columns in COLUMNS.items()}
_G = _INDEX[FeedKind.GOOGLE_PRODUCTS]
_G_CONDITION, _G_BRAND, _G_GTIN, _G_MPN = _G["condition"], _G["brand"], _G["gtin"], _G["mpn"]
_G_EXISTS = _G["identifier_exists"]
_PRICES = {kind: (index["price"], index["sale_price"]) for kind, index in _INDEX.items()}
_JOIN = "\n".join
#: The fast check over a whole item: the list separator (U+001F) is the writers' own.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1e\x7f-\x9f\ufffe\uffff\ud800-\udfff]").search
_LISTS = {
    kind: tuple(i for i, name in enumerate(columns) if name in LIST_COLUMNS)
    for kind, columns in COLUMNS.items()
}


def _item_passes(kind: FeedKind, item: Sequence[str], currency: str | None) -> bool:
    """Whether the rules across columns hold (text, currency, brand, identifiers, sale)."""
    joined = _JOIN(item)
    if _CONTROL(joined):
        return False
    if LIST_SEPARATOR in joined and any(
        LIST_SEPARATOR in value for i, value in enumerate(item) if i not in _LISTS[kind]
    ):
        return False
    price_at, sale_at = _PRICES[kind]
    price, sale = item[price_at], item[sale_at]
    if currency is not None:
        suffix = " " + currency
        if (price and not price.endswith(suffix)) or (sale and not sale.endswith(suffix)):
            return False
    if kind is FeedKind.GOOGLE_PRODUCTS:
        if (item[_G_CONDITION] or "new") == "new" and not item[_G_BRAND]:
            return False
        exists, gtin = item[_G_EXISTS], item[_G_GTIN]
        if exists == "no" and gtin:
            return False
        if not gtin and not item[_G_MPN] and exists != "no":
            return False
    if sale:
        found: list[Violation] = []
        _check_sale_price(price, sale, "", found)
        return not found
    return True


def _check_currency(
    name: str, value: str, currency: str | None, label: str, found: list[Violation]
) -> None:
    if currency is None or not value:
        return
    match = PRICE_PATTERN.match(value)
    if match is not None and match.group(3) != currency:
        found.append(
            Violation(
                label,
                name,
                "currency",
                f"{name} currency {match.group(3)} does not match channel currency {currency}",
            )
        )


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
