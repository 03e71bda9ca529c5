"""The specification's rules one by one, the writers parsed back, and value resolution: no
database needed."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channelhub.catalog.model import ChannelKind, ChannelMode, resolve
from channelhub.catalog.snapshot import Channel
from channelhub.feeds.building import BuildContext, ItemBuilder
from channelhub.feeds.model import (
    COLUMNS,
    GOOGLE_COLUMNS,
    LOCAL_INVENTORY_COLUMNS,
    META_COLUMNS,
    Feed,
    FeedFormat,
    FeedKind,
    FeedSettings,
)
from channelhub.feeds.rules import explain_item, validate_item
from channelhub.feeds.writers import CsvWriter, TsvWriter, XmlWriter

GOOD = {
    "id": "MUG-1",
    "item_group_id": "",
    "title": "Stoneware mug",
    "description": "A mug.",
    "link": "https://shop.example.com/p/MUG-1",
    "image_link": "https://cdn.example.com/MUG-1.jpg",
    "additional_image_link": "https://cdn.example.com/MUG-1b.jpg",
    "availability": "in_stock",
    "price": "15.00 EUR",
    "sale_price": "",
    "sale_price_effective_date": "",
    "brand": "Hearth",
    "gtin": "8710000000017",
    "mpn": "",
    "identifier_exists": "",
    "condition": "new",
    "google_product_category": "",
    "product_type": "Home > Kitchen",
    "color": "Black",
    "size": "",
}


def google(**changes: str) -> tuple[str, ...]:
    values = {**GOOD, **changes}
    return tuple(values[c] for c in GOOGLE_COLUMNS)


def rules_broken(
    item: tuple[str, ...], kind: FeedKind = FeedKind.GOOGLE_PRODUCTS
) -> set[tuple[str, str]]:
    return {(v.attribute, v.rule) for v in validate_item(kind, item)}


def test_a_good_item_passes() -> None:
    assert validate_item(FeedKind.GOOGLE_PRODUCTS, google()) == []


def test_a_missing_required_attribute_is_named_with_the_item() -> None:
    [violation] = validate_item(FeedKind.GOOGLE_PRODUCTS, google(title=""))
    assert (violation.item, violation.attribute, violation.rule) == ("MUG-1", "title", "required")
    assert violation.message == "title is required"


@pytest.mark.parametrize(
    ("attribute", "limit"), [("id", 50), ("title", 150), ("description", 5000), ("brand", 70)]
)
def test_too_long(attribute: str, limit: int) -> None:
    assert validate_item(FeedKind.GOOGLE_PRODUCTS, google(**{attribute: "x" * limit})) == []
    [violation] = validate_item(FeedKind.GOOGLE_PRODUCTS, google(**{attribute: "x" * (limit + 1)}))
    assert (violation.attribute, violation.rule) == (attribute, "max_length")
    assert f"{limit + 1} characters long, at most {limit}" in violation.message


@pytest.mark.parametrize(
    "price", ["15.00EUR", "15,00 EUR", "EUR 15.00", "15.00 eur", "0.00 EUR", "-1.00 EUR"]
)
def test_bad_price_format(price: str) -> None:
    assert ("price", "price_format") in rules_broken(google(price=price))


@pytest.mark.parametrize("price", ["15.00 EUR", "1500 JPY", "0.99 USD"])
def test_good_prices(price: str) -> None:
    assert rules_broken(google(price=price)) == set()


def test_bad_gtin_check_digit_and_length() -> None:
    [violation] = validate_item(FeedKind.GOOGLE_PRODUCTS, google(gtin="8710000000016"))
    assert (violation.attribute, violation.rule) == ("gtin", "gtin")
    assert "check digit" in violation.message
    assert ("gtin", "gtin") in rules_broken(google(gtin="12345"))
    assert ("gtin", "gtin") in rules_broken(google(gtin="871000000001X"))


def test_bad_availability() -> None:
    [violation] = validate_item(FeedKind.GOOGLE_PRODUCTS, google(availability="in stock"))
    assert (violation.attribute, violation.rule) == ("availability", "allowed_values")
    for value in ("in_stock", "out_of_stock", "preorder", "backorder"):
        assert rules_broken(google(availability=value)) == set()


def test_identifier_rules() -> None:
    assert ("identifier_exists", "identifier_exists") in rules_broken(google(gtin=""))
    assert rules_broken(google(gtin="", identifier_exists="no")) == set()
    assert rules_broken(google(gtin="", mpn="HC-1")) == set()
    assert ("identifier_exists", "identifier_exists") in rules_broken(
        google(identifier_exists="no")
    )
    assert ("brand", "required") in rules_broken(google(brand=""))
    assert rules_broken(google(brand="", condition="used")) == set()


def test_urls_sale_price_condition_and_image_count() -> None:
    assert ("link", "url") in rules_broken(google(link="shop.example.com/p/1"))
    assert ("image_link", "url") in rules_broken(google(image_link="https://x.example/a b.jpg"))
    assert ("sale_price", "sale_price") in rules_broken(google(sale_price="15.00 EUR"))
    assert ("sale_price", "sale_price") in rules_broken(google(sale_price="9.00 USD"))
    assert rules_broken(google(sale_price="9.00 EUR")) == set()
    assert ("condition", "allowed_values") in rules_broken(google(condition="mint"))
    eleven = "\x1f".join(f"https://cdn.example.com/{i}.jpg" for i in range(11))
    assert ("additional_image_link", "max_items") in rules_broken(
        google(additional_image_link=eleven)
    )


def test_local_inventory_and_meta_rules() -> None:
    local = ("ams", "MUG-1", "3", "15.00 EUR", "", "", "in_stock")
    assert validate_item(FeedKind.GOOGLE_LOCAL_INVENTORY, local) == []
    [violation] = validate_item(
        FeedKind.GOOGLE_LOCAL_INVENTORY, ("ams", "MUG-1", "-1", "", "", "", "in_stock")
    )
    assert (violation.item, violation.attribute) == ("ams/MUG-1", "quantity")
    meta = dict(zip(META_COLUMNS, [""] * len(META_COLUMNS), strict=True)) | {
        "id": "MUG-1",
        "title": "Mug",
        "description": "A mug",
        "availability": "in stock",
        "condition": "new",
        "price": "15.00 EUR",
        "link": "https://shop.example.com/p/MUG-1",
        "image_link": "https://cdn.example.com/MUG-1.jpg",
        "brand": "Hearth",
    }
    assert validate_item(FeedKind.META_CATALOG, tuple(meta.values())) == []
    broken = tuple((meta | {"availability": "in_stock", "brand": ""}).values())
    assert rules_broken(broken, FeedKind.META_CATALOG) == {
        ("availability", "allowed_values"),
        ("brand", "required"),
    }


def test_every_kind_has_a_rule_per_column() -> None:
    assert COLUMNS[FeedKind.GOOGLE_LOCAL_INVENTORY] == LOCAL_INVENTORY_COLUMNS
    for kind, columns in COLUMNS.items():
        empty = tuple("" for _ in columns)
        assert {v.rule for v in validate_item(kind, empty)} >= {"required"}


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@given(st.lists(TEXT, min_size=len(GOOGLE_COLUMNS), max_size=len(GOOGLE_COLUMNS)))
def test_xml_writer_output_parses_back_to_the_same_text(values: list[str]) -> None:
    writer = XmlWriter(GOOGLE_COLUMNS, "Feed & <co>", "https://shop.example.com", "d")
    document = writer.header() + writer.item(values) + writer.footer()
    root = ET.fromstring(document.encode())
    channel = root.find("channel")
    assert channel is not None and channel.findtext("title") == "Feed & <co>"
    item = root.find("channel/item")
    assert item is not None
    got = {c.tag.split("}")[1]: c.text or "" for c in item}
    for name, value in zip(GOOGLE_COLUMNS, values, strict=True):
        kept = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)
        if name == "additional_image_link" or not value:
            continue
        assert got.get(name, "") == kept, name


@given(st.lists(TEXT, min_size=3, max_size=3))
def test_csv_and_tsv_writers_keep_one_row_per_item(values: list[str]) -> None:
    csv_text = CsvWriter(("a", "b", "c")).item(values)
    [row] = list(csv.reader(io.StringIO(csv_text, newline="")))
    assert row == [v.replace("\x1f", ",") for v in values]
    # Merchant Center's quoted fields: tabs, line breaks and quotes read back unchanged.
    plain = [v.replace("\x1f", "") for v in values]
    tsv_text = TsvWriter(("a", "b", "c")).item(plain)
    [tsv_row] = list(csv.reader(io.StringIO(tsv_text, newline=""), delimiter="\t"))
    assert tsv_row == plain


def _builder(kind: FeedKind = FeedKind.GOOGLE_PRODUCTS) -> ItemBuilder:
    now = datetime.now(UTC)
    feed = Feed(
        1,
        "f",
        "F",
        kind,
        FeedFormat.XML,
        "google",
        "en_US",
        FeedSettings(link_template="https://shop.example.com/{sku}"),
        now,
        now,
    )
    channel = Channel(
        1, "google", "Google", ChannelKind.FEED, ChannelMode.INTEGRATED, ("en_US",), "EUR"
    )
    context = BuildContext(channel, 1, "google", "EUR", 0, now, (), {})
    return ItemBuilder(feed, context)


SCOPES = st.dictionaries(
    st.sampled_from(["google|en_US", "*|en_US", "google|*", "*|*", "web|en_US", "*|nl_NL"]),
    st.text(min_size=1, max_size=5),
)


@given(SCOPES)
def test_value_resolution_agrees_with_the_catalog(scopes: dict[str, str]) -> None:
    builder = _builder()
    values = {"brand": scopes}
    expected = resolve(values, "brand", "google", "en_US")
    assert builder._value(values, "brand") == expected


GOOGLE_VALUES = st.fixed_dictionaries(
    {
        name: st.one_of(
            st.just(GOOD[name]),
            st.just(""),
            st.sampled_from(
                ["x" * 51, "in stock", "15.00 EUR", "9.00 EUR", "no", "new", "bad url"]
            ),
        )
        for name in GOOGLE_COLUMNS
    }
)


@given(GOOGLE_VALUES)
def test_the_fast_check_agrees_with_the_explained_one(values: dict[str, str]) -> None:
    item = tuple(values[c] for c in GOOGLE_COLUMNS)
    assert validate_item(FeedKind.GOOGLE_PRODUCTS, item) == explain_item(
        FeedKind.GOOGLE_PRODUCTS, item
    )
