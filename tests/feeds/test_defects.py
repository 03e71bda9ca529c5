"""One test per defect of issue 15, each through the services a user's API call or import runs,
with the feeds parsed back as Merchant Center and Meta read them."""

from __future__ import annotations

import csv
import io
import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from stdnum import ean

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.catalog import service as catalog
from channelhub.catalog.model import Requirement, RuleKind
from channelhub.core.database import Database
from channelhub.feeds import scheduling, service
from channelhub.feeds.model import FeedFormat, FeedKind, VersionKind
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from tests.factories import save, value
from tests.feeds.conftest import feed_input, product
from tests.inventory.factories import stock

G = "{http://base.google.com/ns/1.0}"


def xml_items(path: str) -> dict[str, dict[str, list[str]]]:
    items: dict[str, dict[str, list[str]]] = {}
    for element in ET.parse(path).getroot().iter("item"):
        fields: dict[str, list[str]] = {}
        for child in element:
            fields.setdefault(child.tag[len(G) :], []).append(child.text or "")
        items[fields["id"][0]] = fields
    return items


def tsv_items(path: str) -> dict[str, dict[str, str]]:
    """Rows as Merchant Center reads a TSV file with quoted fields (the default)."""
    text = Path(path).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    return {row["id"]: row for row in rows}


def tsv_list(cell: str) -> list[str]:
    """A repeated attribute's values: comma-separated, a value with a comma quoted."""
    return next(csv.reader([cell])) if cell else []


def priced(shop: Database, *skus: str) -> None:
    for channel in ("google", "meta"):
        prices = [PriceInput(sku, "19.50") for sku in skus]
        assert not save_prices(shop, prices, f"{channel}_eur").rejected


def both(shop: Database) -> tuple[service.Version, service.Version]:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    service.create_feed(shop, feed_input("gtsv", FeedKind.GOOGLE_PRODUCTS, FeedFormat.TSV))
    return service.publish(shop, "gxml"), service.publish(shop, "gtsv")


def held(version: service.Version) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for violation in version.report["violations"]:
        found.setdefault(violation["item"], set()).add(violation["rule"])
    return found


def test_urls_are_ascii_rfc3986_and_image_commas_are_encoded(shop: Database) -> None:
    save(
        shop,
        product(
            "MUG-1",
            1,
            values=[
                value(
                    "images",
                    [
                        "https://cdn.example.com/café {1}.jpg",
                        "https://res.cloudinary.com/shop/w_100,h_100/mug.jpg",
                        "https://cdn.example.com/mug-b.jpg",
                    ],
                )
            ],
        ),
    )
    xml, tsv = both(shop)
    x, t = xml_items(xml.path)["MUG-1"], tsv_items(tsv.path)["MUG-1"]
    assert x["image_link"] == ["https://cdn.example.com/caf%C3%A9%20%7B1%7D.jpg"]
    assert x["additional_image_link"] == [
        "https://res.cloudinary.com/shop/w_100%2Ch_100/mug.jpg",
        "https://cdn.example.com/mug-b.jpg",
    ]
    assert t["image_link"] == x["image_link"][0]
    assert tsv_list(t["additional_image_link"]) == x["additional_image_link"]
    for url in [*x["image_link"], *x["additional_image_link"], *x["link"]]:
        assert url.isascii() and "{" not in url and "," not in url


def _gtin(prefix: str, length: int = 13) -> str:
    body = (prefix + "1234567890123")[: length - 1]
    return body + ean.calc_check_digit(body)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        (_gtin("20"), "restricted"),
        (_gtin("2", 12), "restricted"),  # GTIN-12 "2..." is 02... as a GTIN-13
        (_gtin("04"), "restricted"),
        (_gtin("982"), "coupon"),
        (_gtin("99"), "coupon"),
        (_gtin("5", 12), "coupon"),  # UPC number system 5: coupons, 05... as a GTIN-13
        (_gtin("102", 14), "restricted"),  # the indicator digit is not part of the prefix
    ],
)
def test_restricted_and_coupon_gtins_are_held_back(shop: Database, code: str, why: str) -> None:
    save(shop, product("MUG-1", 1, values=[value("gtin", code)]))
    xml, tsv = both(shop)
    assert "MUG-1" not in xml_items(xml.path) and "MUG-1" not in tsv_items(tsv.path)
    [violation] = [v for v in xml.report["violations"] if v["item"] == "MUG-1"]
    assert violation["rule"] == "gtin" and why in violation["message"]


def test_control_characters_are_held_back_in_every_format(shop: Database) -> None:
    save(
        shop,
        product("MUG-1", 1, values=[value("name", "Mug\x0bone", "en_US")]),
        product("MUG-2", 2, values=[value("name", "Mug\x85two", "en_US")]),
        product("MUG-3", 3, values=[value("description", "Mug\x7fthree", "en_US")]),
    )
    xml, tsv = both(shop)
    for version in (xml, tsv):
        assert held(version) == {
            "MUG-1": {"control_character"},
            "MUG-2": {"control_character"},
            "MUG-3": {"control_character"},
        }
    assert set(xml_items(xml.path)) == set(tsv_items(tsv.path)) == {"MUG-4", "MUG-5"}


def test_tabs_line_breaks_and_quotes_read_back_the_same_from_xml_and_tsv(
    shop: Database,
) -> None:
    save(
        shop,
        product("MUG-1", 1, values=[value("name", '"Big" mug, 12" wide', "en_US")]),
        product("MUG-2", 2, values=[value("description", "Line one\nline\ttwo", "en_US")]),
    )
    xml, tsv = both(shop)
    x, t = xml_items(xml.path), tsv_items(tsv.path)
    assert x["MUG-1"]["title"] == ['"Big" mug, 12" wide'] == [t["MUG-1"]["title"]]
    assert x["MUG-2"]["description"] == ["Line one\nline\ttwo"] == [t["MUG-2"]["description"]]
    for sku in x:
        for name, values in x[sku].items():
            if name != "additional_image_link":
                assert t[sku][name] == values[0], (sku, name)


def test_ids_that_differ_only_by_case_go_out_once(shop: Database) -> None:
    save(shop, product("mug-white", 6), product("MUG-WHITE", 7))
    priced(shop, "mug-white", "MUG-WHITE")
    for code, kind, feed_format in (
        ("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML),
        ("meta", FeedKind.META_CATALOG, FeedFormat.CSV),
    ):
        service.create_feed(shop, feed_input(code, kind, feed_format))
        version = service.publish(shop, code)
        body = Path(version.path).read_text(encoding="utf-8")
        assert "mug-white" in body and "MUG-WHITE" not in body
        [violation] = version.report["violations"]
        assert (violation["item"], violation["rule"]) == ("MUG-WHITE", "duplicate_id")


def test_the_rss_channel_link_is_the_shop_not_the_template(shop: Database) -> None:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    root = ET.parse(service.publish(shop, "gxml").path).getroot()
    assert root.findtext("channel/link") == "https://shop.example.com/"


def test_a_delta_is_cumulative_since_the_newest_full_and_never_older(shop: Database) -> None:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    service.publish(shop, "gxml")
    save(shop, product("MUG-1", 1, values=[value("name", "Changed one", "en_US")]))
    first = service.publish(shop, "gxml", VersionKind.DELTA)
    assert set(xml_items(first.path)) == {"MUG-1"}
    save(shop, product("MUG-2", 2, values=[value("name", "Changed two", "en_US")]))
    second = service.publish(shop, "gxml", VersionKind.DELTA)
    assert set(xml_items(second.path)) == {"MUG-1", "MUG-2"}  # since the full, not the delta
    save(shop, product("MUG-1", 1))  # back to the full's title: the earlier delta is undone
    third = xml_items(service.publish(shop, "gxml", VersionKind.DELTA).path)
    assert third["MUG-1"]["title"] == ["Mug 1"] and set(third) == {"MUG-1", "MUG-2"}

    client = TestClient(create_app(shop))
    _key, reader = create_key(shop, "reader", ["read"])
    headers = {"X-API-Key": reader}
    served = client.get("/feeds/gxml/delta.xml", headers=headers)
    assert served.headers["x-feed-kind"] == "delta" and len(xml_items_of(served.content)) == 2
    full = service.publish(shop, "gxml")
    after = client.get("/feeds/gxml/delta.xml", headers=headers)
    # Not the older delta: an empty one based on the newest full.
    assert after.status_code == 200 and xml_items_of(after.content) == []
    assert after.headers["x-feed-base-version"] == str(full.number)


def xml_items_of(content: bytes) -> list[ET.Element]:
    return ET.fromstring(content).findall("channel/item")


def test_the_report_names_what_the_completeness_gate_holds_back(shop: Database) -> None:
    catalog.add_requirements(shop, "google", [Requirement("color", RuleKind.REQUIRED)])
    save(shop, product("MUG-1", 1, values=[value("color", None)]))
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    version = service.publish(shop, "gxml")
    assert "MUG-1" not in xml_items(version.path)
    [violation] = version.report["violations"]
    assert (violation["item"], violation["rule"]) == ("MUG-1", "completeness")
    assert "color" in violation["message"] and version.rejected == 1


def test_a_price_in_another_currency_is_reported_as_such(shop: Database) -> None:
    pricing.save_price_list(shop, "google_usd", "google", "USD")
    save(shop, product("MUG-6", 6))
    assert not save_prices(shop, [PriceInput("MUG-6", "20.00")], "google_usd").rejected
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    [violation] = service.publish(shop, "gxml").report["violations"]
    assert violation["item"] == "MUG-6"
    assert violation["message"] == "price currency USD does not match channel currency EUR"


def test_sale_prices_and_their_dates_in_products_and_local_inventory(shop: Database) -> None:
    now = datetime.now(UTC)
    starts, ends = now - timedelta(days=1), now + timedelta(days=6)
    sale = PriceInput("MUG-1", "11.50", "9.00", starts.isoformat(), ends.isoformat())
    assert not save_prices(shop, [sale], "google_eur").rejected
    dates = f"{starts:%Y-%m-%dT%H:%M}+0000/{ends:%Y-%m-%dT%H:%M}+0000"
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    mug = xml_items(service.publish(shop, "gxml").path)["MUG-1"]
    assert (mug["price"], mug["sale_price"]) == (["11.50 EUR"], ["9.00 EUR"])
    assert mug["sale_price_effective_date"] == [dates]
    service.create_feed(shop, feed_input("local", FeedKind.GOOGLE_LOCAL_INVENTORY, FeedFormat.TSV))
    text = Path(service.publish(shop, "local").path).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    [ams] = [r for r in rows if (r["store_code"], r["id"]) == ("ams", "MUG-1")]
    assert (ams["price"], ams["sale_price"]) == ("11.50 EUR", "9.00 EUR")
    assert ams["sale_price_effective_date"] == dates


def test_feed_tokens_never_reach_a_log_line(
    shop: Database, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(create_app(shop))
    feed, token = service.create_feed(
        shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML)
    )
    service.publish(shop, "gxml")
    assert client.get(f"/feeds/gxml.xml?token={token}").status_code == 200
    with caplog.at_level(logging.INFO):
        # What uvicorn's access log writes for that request, and a client logging the URL.
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/feeds/gxml.xml?token={token}",
            "1.1",
            200,
        )
        logging.getLogger("httpx").info(
            "HTTP Request: GET https://hub/feeds/gxml.xml?token=" + token
        )
    records = [r for r in caplog.records if r.name in ("uvicorn.access", "httpx")]
    assert len(records) == 2
    for record in records:
        assert token not in record.getMessage() and "token=[redacted]" in record.getMessage()
    assert feed.code == "gxml"


def test_a_feed_request_never_builds_and_the_worker_publishes_on_change(shop: Database) -> None:
    client = TestClient(create_app(shop))
    _feed, token = service.create_feed(
        shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML)
    )
    for _ in range(2):  # two requests: both told, neither builds (no 409, no 29 s wait)
        answer = client.get("/feeds/gxml.xml", params={"token": token})
        assert answer.status_code == 404 and "not been published yet" in answer.json()["detail"]
    assert service.list_versions(shop, "gxml") == []
    assert scheduling.publish_due(shop) == 1
    assert client.get("/feeds/gxml.xml", params={"token": token}).status_code == 200
    assert scheduling.publish_due(shop) == 0  # nothing changed
    stock(shop, "wh", MUG_3=4)
    assert scheduling.publish_due(shop) == 1
    assert [v.kind for v in service.list_versions(shop, "gxml")] == [
        VersionKind.DELTA,
        VersionKind.FULL,
    ]


def test_meta_holds_back_html_bad_urls_control_characters_and_case_duplicates(
    shop: Database,
) -> None:
    save(
        shop,
        product("MUG-1", 1, values=[value("name", "<b>Mug</b> one", "en_US")]),
        product("MUG-2", 2, values=[value("description", "Mug &amp; two", "en_US")]),
        product("MUG-3", 3, values=[value("name", "Mug\x9bthree", "en_US")]),
        product("mug-4", 8),
        product("MUG-5", 5, values=[value("images", ["https://cdn.example.com/ü,1.jpg"])]),
    )
    priced(shop, "mug-4")
    service.create_feed(shop, feed_input("meta", FeedKind.META_CATALOG, FeedFormat.CSV))
    version = service.publish(shop, "meta")
    assert held(version) == {
        "MUG-1": {"html"},
        "MUG-2": {"html"},
        "MUG-3": {"control_character"},
        "mug-4": {"duplicate_id"},
    }
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(Path(version.path).read_text()))}
    assert set(rows) == {"MUG-4", "MUG-5"}
    assert rows["MUG-5"]["image_link"] == "https://cdn.example.com/%C3%BC%2C1.jpg"
