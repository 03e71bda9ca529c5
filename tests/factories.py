"""Factories for catalog test data: a small, realistic catalog built through the services."""

from __future__ import annotations

from stdnum import ean

from channelhub.catalog import service
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    IdentifierKind,
)
from channelhub.catalog.products import ProductInput, ValueInput, save_products
from channelhub.core.database import Database


def gtin(n: int) -> str:
    body = f"871{n:09d}"
    return body + ean.calc_check_digit(body)


def make_catalog(db: Database) -> None:
    """Two locales, two channels, the usual attributes, a simple and a variant family."""
    service.add_locale(db, "en_US")
    service.add_locale(db, "nl_NL")
    service.save_channel(
        db,
        service.ChannelInput(
            "web", "Webshop", ChannelKind.WEBSHOP, ChannelMode.INTEGRATED, ("en_US", "nl_NL"), "EUR"
        ),
    )
    service.save_channel(
        db,
        service.ChannelInput(
            "bol", "bol.com", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"
        ),
    )
    for attribute in (
        Attribute("name", AttributeType.TEXT, localizable=True),
        Attribute("description", AttributeType.TEXTAREA, localizable=True),
        Attribute("title", AttributeType.TEXT, localizable=True, scopable=True, max_length=60),
        Attribute("brand", AttributeType.TEXT),
        Attribute("gtin", AttributeType.IDENTIFIER, identifier_kind=IdentifierKind.GTIN),
        Attribute("images", AttributeType.MEDIA),
        Attribute("color", AttributeType.SELECT, options=("black", "white", "red")),
        Attribute("size", AttributeType.SELECT, options=("s", "m", "l")),
        Attribute("features", AttributeType.MULTISELECT, options=("waterproof", "recycled")),
        Attribute("weight", AttributeType.MEASUREMENT, units=("GRAM", "KILOGRAM")),
        Attribute("price", AttributeType.PRICE),
        Attribute("organic", AttributeType.BOOLEAN),
        Attribute("pieces", AttributeType.NUMBER),
        Attribute("released", AttributeType.DATE),
    ):
        service.save_attribute(db, attribute)
    every = (
        "name",
        "description",
        "title",
        "brand",
        "gtin",
        "images",
        "color",
        "size",
        "features",
        "weight",
        "price",
        "organic",
        "pieces",
        "released",
    )
    service.save_family(db, Family("mugs", every, required=("name",)))
    service.save_family(
        db, Family("shirts", every, required=("name",), variant_axes=("color", "size"))
    )
    service.save_category(db, "home", None)
    service.save_category(db, "kitchen", "home")
    service.save_category(db, "apparel", None)


def value(
    attribute: str, data: object, locale: str | None = None, channel: str | None = None
) -> ValueInput:
    return ValueInput(attribute, data, locale, channel)


def mug(sku: str = "MUG-1", **fields: object) -> ProductInput:
    item = ProductInput(
        sku=sku,
        family="mugs",
        categories=["kitchen"],
        values=[
            value("name", "Mug", "en_US"),
            value("name", "Mok", "nl_NL"),
            value("brand", "Hearth"),
        ],
    )
    for name, data in fields.items():
        setattr(item, name, data)
    return item


def save(db: Database, *items: ProductInput) -> None:
    result = save_products(db, list(items), actor="test")
    assert not result.rejected, result.rejected
