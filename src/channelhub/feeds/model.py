"""Feed definitions and the columns of each feed kind. Pure: no database, no HTTP.

A feed is one file a channel fetches: Google Merchant Center products (RSS 2.0 with the ``g:``
namespace, or TSV), Google local inventory (per store), or a Meta catalog (CSV). An item is a
tuple of text values aligned with its kind's ``columns``; an empty string means "not given".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from channelhub.core.errors import InvalidInput, Problem

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
GOOGLE_NAMESPACE = "http://base.google.com/ns/1.0"


class FeedKind(StrEnum):
    GOOGLE_PRODUCTS = "google_products"
    GOOGLE_LOCAL_INVENTORY = "google_local_inventory"
    META_CATALOG = "meta_catalog"


class FeedFormat(StrEnum):
    XML = "xml"
    TSV = "tsv"
    CSV = "csv"


class VersionKind(StrEnum):
    FULL = "full"
    DELTA = "delta"


#: The formats each kind can be written in (what Merchant Center and Meta accept).
FORMATS: dict[FeedKind, tuple[FeedFormat, ...]] = {
    FeedKind.GOOGLE_PRODUCTS: (FeedFormat.XML, FeedFormat.TSV),
    FeedKind.GOOGLE_LOCAL_INVENTORY: (FeedFormat.TSV, FeedFormat.XML),
    FeedKind.META_CATALOG: (FeedFormat.CSV, FeedFormat.TSV),
}

GOOGLE_COLUMNS = (
    "id",
    "item_group_id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "price",
    "sale_price",
    "sale_price_effective_date",
    "brand",
    "gtin",
    "mpn",
    "identifier_exists",
    "condition",
    "google_product_category",
    "product_type",
    "color",
    "size",
)
LOCAL_INVENTORY_COLUMNS = (
    "store_code",
    "id",
    "quantity",
    "price",
    "sale_price",
    "sale_price_effective_date",
    "availability",
)
META_COLUMNS = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
    "brand",
    "additional_image_link",
    "sale_price",
    "sale_price_effective_date",
    "item_group_id",
    "gtin",
    "mpn",
    "google_product_category",
    "color",
    "size",
)

COLUMNS: dict[FeedKind, tuple[str, ...]] = {
    FeedKind.GOOGLE_PRODUCTS: GOOGLE_COLUMNS,
    FeedKind.GOOGLE_LOCAL_INVENTORY: LOCAL_INVENTORY_COLUMNS,
    FeedKind.META_CATALOG: META_COLUMNS,
}

#: Columns whose value is a list (several XML elements; comma-separated in TSV and CSV).
LIST_COLUMNS = frozenset({"additional_image_link"})
#: Separator of a list column's values inside one item tuple (never in a URL unescaped).
LIST_SEPARATOR = "\x1f"

#: Catalog attributes read for each feed field, first non-empty wins.
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name"),
    "description": ("description",),
    "brand": ("brand",),
    "gtin": ("gtin", "ean"),
    "mpn": ("mpn",),
    "images": ("images",),
    "color": ("color",),
    "size": ("size",),
    "condition": ("condition",),
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
LINK_PLACEHOLDERS = frozenset({"sku", "parent_sku", "locale", "language"})


class FeedSettings(BaseModel):
    """How a feed turns catalog products into items; every field but the link has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    link_template: str = Field(
        min_length=8,
        max_length=1000,
        description="product page URL; placeholders {sku}, {parent_sku}, {locale}, {language}",
    )
    image_base_url: str | None = Field(
        default=None,
        max_length=1000,
        description="prefix for media references that are not absolute http(s) URLs",
    )
    fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="feed field -> catalog attributes to read, first non-empty wins",
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="option labels per attribute, e.g. color black->Black"
    )
    categories: dict[str, str] = Field(
        default_factory=dict,
        description="hub category code -> google_product_category (id or path)",
    )
    default_condition: str = Field(default="new", pattern="^(new|refurbished|used)$")
    store_codes: list[str] = Field(
        default_factory=list,
        description="local inventory: only these store locations (default every store)",
    )

    @field_validator("link_template")
    @classmethod
    def _check_link(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("the link template must start with http:// or https://")
        unknown = set(_PLACEHOLDER.findall(value)) - LINK_PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)}; use {sorted(LINK_PLACEHOLDERS)}"
            )
        if "{sku}" not in value:
            raise ValueError("the link template must contain {sku}")
        return value

    @field_validator("image_base_url")
    @classmethod
    def _check_image_base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("the image base URL must start with http:// or https://")
        return value

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(DEFAULT_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown feed field(s) {sorted(unknown)}; use {sorted(DEFAULT_FIELDS)}"
            )
        return value

    def attributes_for(self, name: str) -> tuple[str, ...]:
        chosen = self.fields.get(name)
        return tuple(chosen) if chosen else DEFAULT_FIELDS[name]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> FeedSettings:
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = [
                Problem("settings." + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in error.errors(include_input=False)
            ]
            raise InvalidInput("the feed settings are not valid", problems) from None


@dataclass(frozen=True)
class Feed:
    """A feed definition: which channel's products, in which locale, kind and format."""

    id: int
    code: str
    name: str
    kind: FeedKind
    format: FeedFormat
    channel: str
    locale: str
    settings: FeedSettings
    created_at: datetime
    updated_at: datetime

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.kind]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


MEDIA_TYPES = {
    FeedFormat.XML: "application/xml; charset=utf-8",
    FeedFormat.TSV: "text/tab-separated-values; charset=utf-8",
    FeedFormat.CSV: "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class Violation:
    """One rule an item breaks: which item, which attribute, which rule and why."""

    item: str
    attribute: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "item": self.item,
            "attribute": self.attribute,
            "rule": self.rule,
            "message": self.message,
        }


#: How many violations a report keeps in full; the counts per rule are always complete.
REPORT_LIMIT = 1000


@dataclass
class ValidationReport:
    """What a generation checked: items written, items held back and why."""

    items: int = 0
    rejected: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    def add(self, problems: list[Violation]) -> None:
        self.rejected += 1
        for problem in problems:
            key = f"{problem.attribute}:{problem.rule}"
            self.by_rule[key] = self.by_rule.get(key, 0) + 1
            if len(self.violations) < REPORT_LIMIT:
                self.violations.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "rejected": self.rejected,
            "by_rule": dict(sorted(self.by_rule.items())),
            "violations": [v.as_dict() for v in self.violations],
            "truncated": self.rejected > 0 and len(self.violations) >= REPORT_LIMIT,
        }


def check_code(code: str) -> None:
    if not CODE_PATTERN.match(code):
        raise InvalidInput(
            f"feed code {code!r} is not valid: lowercase letters, digits, '-' and '_', "
            "up to 100 characters"
        )


def check_format(kind: FeedKind, feed_format: FeedFormat) -> None:
    allowed = FORMATS[kind]
    if feed_format not in allowed:
        raise InvalidInput(
            f"a {kind.value} feed is written as {' or '.join(f.value for f in allowed)}, "
            f"not {feed_format.value}"
        )


class LinkTemplate:
    """A link template split once into literal text and placeholders, rendered per item."""

    def __init__(self, template: str) -> None:
        self.parts: list[tuple[bool, str]] = []
        position = 0
        for match in _PLACEHOLDER.finditer(template):
            self.parts.append((False, template[position : match.start()]))
            self.parts.append((True, match.group(1)))
            position = match.end()
        self.parts.append((False, template[position:]))

    def site(self, locale: str) -> str:
        """The shop's home (scheme and host) for the RSS channel's ``<link>``: the template's
        own text would carry its placeholders, braces included."""
        parts = urlsplit(self.render("x", None, locale))
        return f"{parts.scheme}://{parts.netloc}/"

    def render(self, sku: str, parent_sku: str | None, locale: str) -> str:
        """The product page URL (SKUs URL-quoted)."""
        values = {
            "sku": _quote(sku),
            "parent_sku": _quote(parent_sku or sku),
            "locale": locale,
            "language": locale.split("_", 1)[0],
        }
        return "".join(
            values[text] if is_placeholder else text for is_placeholder, text in self.parts
        )


_SAFE_PATH = re.compile(r"^[A-Za-z0-9._~-]*$")


def _quote(text: str) -> str:
    if _SAFE_PATH.match(text):
        return text
    return quote(text, safe="")


#: What RFC 3986 lets a URL hold unencoded besides letters and digits (reserved and
#: unreserved characters; "%" for the encodings already made).
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"
_PERCENT_OK = re.compile(r"%[0-9A-Fa-f]{2}")


def encode_url(url: str, *, image: bool = False) -> str:
    """``url`` as Google asks for it (answer/6324416, answer/6324350): ASCII and RFC 3986 only,
    every other character percent-encoded as UTF-8 (an international host as IDNA), a '%'
    that starts no encoding as %25; in an image URL a comma as %2C (text feeds separate image
    URLs with commas, answer/6324370). A URL that is already clean comes back unchanged."""
    if url.isascii() and _URL_CLEAN.match(url) and not (image and "," in url):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = parts.netloc
        if host and not host.isascii():
            netloc = netloc.replace(host, host.encode("idna").decode("ascii"))
    except (ValueError, UnicodeError):
        return url  # not a URL the rules can accept: they say so

    def encode(part: str) -> str:
        encoded = quote(part, safe=_URL_SAFE)
        encoded = "".join(
            piece if _PERCENT_OK.match(piece) else piece.replace("%", "%25")
            for piece in re.split(r"(%[0-9A-Fa-f]{2})", encoded)
        )
        return encoded.replace(",", "%2C") if image else encoded

    return urlunsplit(
        (
            parts.scheme,
            netloc,
            encode(parts.path),
            encode(parts.query),
            encode(parts.fragment),
        )
    )


_URL_CLEAN = re.compile(
    r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*(?:%[0-9A-Fa-f]{2}[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*)*$"
)
