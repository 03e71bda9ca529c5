"""Publishing feeds from the catalog: each format parsed back and checked, delta, local stock."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.core.errors import Conflict
from channelhub.feeds import service
from channelhub.feeds.model import GOOGLE_COLUMNS, FeedFormat, FeedKind, VersionKind
from channelhub.feeds.rules import validate_item
from channelhub.inventory.service import available
from channelhub.pricing.prices import PriceInput, save_prices
from tests.factories import save, value
from tests.feeds.conftest import feed_input, product
from tests.inventory.factories import stock

G = "{http://base.google.com/ns/1.0}"


def xml_items(path: str) -> list[dict[str, list[str]]]:
    root = ET.parse(path).getroot()
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = []
    for element in root.iter("item"):
        fields: dict[str, list[str]] = {}
        for child in element:
            assert child.tag.startswith(G), child.tag
            fields.setdefault(child.tag[len(G) :], []).append(child.text or "")
        items.append(fields)
    return items


def tsv_rows(path: str) -> list[dict[str, str]]:
    text = Path(path).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def test_google_xml_is_well_formed_with_the_g_namespace_and_follows_the_rules(
    shop: Database,
) -> None:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    version = service.publish(shop, "gxml")
    assert Path(version.path).read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'xmlns:g="http://base.google.com/ns/1.0"' in Path(version.path).read_bytes()
    items = xml_items(version.path)
    assert version.items == len(items) == 5
    by_id = {i["id"][0]: i for i in items}
    mug = by_id["MUG-1"]
    assert mug["title"] == ["Mug 1"]
    assert mug["description"] == ["A stoneware mug, number 1 & more < 5 cm >"]  # escaped, read back
    assert mug["link"] == ["https://shop.example.com/en/p/MUG-1"]
    assert mug["image_link"] == ["https://cdn.example.com/img/MUG-1-1.jpg"]
    assert mug["additional_image_link"] == ["https://cdn.example.com/MUG-1-2.jpg"]
    assert mug["price"] == ["11.50 EUR"]
    assert mug["availability"] == ["in_stock"]
    assert mug["product_type"] == ["home > kitchen"]
    stock_by_sku = available(shop, "google", [f"MUG-{n}" for n in range(1, 6)])
    for sku, item in by_id.items():
        expected = "in_stock" if stock_by_sku[sku] > 0 else "out_of_stock"
        assert item["availability"] == [expected], sku
        values = tuple(
            "\x1f".join(item.get(c, [])) if c == "additional_image_link" else item.get(c, [""])[0]
            for c in GOOGLE_COLUMNS
        )
        assert validate_item(FeedKind.GOOGLE_PRODUCTS, values) == []


def test_google_tsv_has_the_header_and_one_row_per_item(shop: Database) -> None:
    service.create_feed(shop, feed_input("gtsv", FeedKind.GOOGLE_PRODUCTS, FeedFormat.TSV))
    version = service.publish(shop, "gtsv")
    text = Path(version.path).read_text(encoding="utf-8")
    assert text.splitlines()[0].split("\t") == list(GOOGLE_COLUMNS)
    rows = tsv_rows(version.path)
    assert [r["id"] for r in rows] == [f"MUG-{n}" for n in range(1, 6)]
    for row in rows:
        assert validate_item(FeedKind.GOOGLE_PRODUCTS, tuple(row[c] for c in GOOGLE_COLUMNS)) == []
        assert row["price"].endswith(" EUR") and row["brand"] == "Hearth"


def test_meta_csv_has_metas_required_fields(shop: Database) -> None:
    service.create_feed(shop, feed_input("meta", FeedKind.META_CATALOG, FeedFormat.CSV))
    version = service.publish(shop, "meta")
    rows = list(csv.DictReader(io.StringIO(Path(version.path).read_text(encoding="utf-8"))))
    assert len(rows) == 5
    required = ("id", "title", "description", "availability", "condition", "price", "link")
    for row in rows:
        for name in (*required, "image_link", "brand"):
            assert row[name], (row["id"], name)
        assert row["availability"] in ("in stock", "out of stock")
        assert row["condition"] == "new"
    assert {r["id"]: r["availability"] for r in rows}["MUG-3"] == "out of stock"


def test_local_inventory_quantities_match_the_stores_stock(shop: Database) -> None:
    service.create_feed(shop, feed_input("local", FeedKind.GOOGLE_LOCAL_INVENTORY, FeedFormat.TSV))
    version = service.publish(shop, "local")
    rows = tsv_rows(version.path)
    got = {(r["store_code"], r["id"]): int(r["quantity"]) for r in rows}
    assert got == {("ams", "MUG-1"): 2, ("ams", "MUG-2"): 1, ("rtm", "MUG-1"): 4}
    for row in rows:
        assert row["availability"] == "in_stock"
        assert row["price"] in ("11.50 EUR", "12.50 EUR")
    stock(shop, "ams", MUG_1=5)
    rows = tsv_rows(service.publish(shop, "local").path)
    assert {(r["store_code"], r["id"]): int(r["quantity"]) for r in rows}[("ams", "MUG-1")] == 7


def test_a_delta_holds_only_what_changed_since_the_previous_version(shop: Database) -> None:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    with pytest.raises(Conflict):
        service.publish(shop, "gxml", VersionKind.DELTA)
    full = service.publish(shop, "gxml")
    nothing = service.publish(shop, "gxml", VersionKind.DELTA)
    assert nothing.items == 0 and xml_items(nothing.path) == []
    save(shop, product("MUG-2", 2, values=[value("name", "Big mug", "en_US")]))
    save(shop, product("MUG-9", 9))
    prices = [PriceInput("MUG-4", "99.00"), PriceInput("MUG-9", "5.00")]
    assert not save_prices(shop, prices, "google_eur").rejected
    stock(shop, "wh", MUG_3=4)
    change_status(shop, "MUG-5", Status.DRAFT, "test")
    delta = service.publish(shop, "gxml", VersionKind.DELTA)
    items = {i["id"][0]: i for i in xml_items(delta.path)}
    # MUG-5 left the catalog's feed: marked out of stock (a delta cannot delete).
    assert set(items) == {"MUG-2", "MUG-3", "MUG-4", "MUG-5", "MUG-9"}
    assert items["MUG-5"] == {"id": ["MUG-5"], "availability": ["out_of_stock"]}
    assert items["MUG-2"]["title"] == ["Big mug"]
    assert items["MUG-3"]["availability"] == ["in_stock"]
    assert items["MUG-4"]["price"] == ["99.00 EUR"]
    assert delta.removed == 1  # MUG-5 went back to draft
    assert delta.number == full.number + 2
    again = service.publish(shop, "gxml")
    assert {i["id"][0] for i in xml_items(again.path)} == {
        "MUG-1",
        "MUG-2",
        "MUG-3",
        "MUG-4",
        "MUG-9",
    }


def test_an_invalid_item_never_leaves_the_hub_and_the_report_names_it(shop: Database) -> None:
    unbranded = product("MUG-7", 7)
    unbranded.values = [v for v in unbranded.values if v.attribute != "brand"]
    save(shop, unbranded)
    assert not save_prices(shop, [PriceInput("MUG-7", "3.00")], "google_eur").rejected
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    version = service.publish(shop, "gxml")
    ids = {i["id"][0] for i in xml_items(version.path)}
    assert "MUG-7" not in ids and len(ids) == 5
    assert version.rejected == 1
    assert version.report["violations"] == [
        {
            "item": "MUG-7",
            "attribute": "brand",
            "rule": "required",
            "message": "brand is required for new products",
        }
    ]
    report = service.validate_feed(shop, "gxml")
    assert report.rejected == 1 and report.by_rule == {"brand:required": 1}
