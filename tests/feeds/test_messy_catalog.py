"""A generated messy catalog (hundreds of products with the faults real catalogs carry), saved
through the catalog and pricing services as an API call or an import would: every feed holds
exactly the valid items, each checked again by a small validator written here from Google's
and Meta's pages (not the hub's rules), and the report names every other item with its rule."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stdnum import ean

from channelhub.catalog import service as catalog
from channelhub.catalog.model import Requirement, RuleKind
from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database
from channelhub.feeds import service
from channelhub.feeds.model import FeedFormat, FeedKind
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from tests.factories import save, value
from tests.feeds.conftest import feed_input, product

G = "{http://base.google.com/ns/1.0}"
COPIES = 20  # products per kind: 14 kinds (clean ones included) and 20 case twins


def _gtin(prefix: str, n: int) -> str:
    body = f"{prefix}{n:012d}"[:12]
    return body + ean.calc_check_digit(body)


@dataclass(frozen=True)
class Fault:
    name: str
    #: How product n carries it (changes to the valid mug).
    make: Callable[[str, int], ProductInput]
    #: The rule each feed kind holds it back by (missing: the item is valid there).
    google: str | None = None
    meta: str | None = None
    priced: bool = True
    usd: bool = False


def _with(*values: object) -> Callable[[str, int], ProductInput]:
    def make(sku: str, n: int) -> ProductInput:
        chosen = [v(sku, n) if callable(v) else v for v in values]
        item = product(sku, n)
        replaced = {(v.attribute, v.locale) for v in chosen}
        item.values = [v for v in item.values if (v.attribute, v.locale) not in replaced] + chosen
        return item

    return make


FAULTS = (
    Fault("clean", _with()),
    Fault(
        "non-ascii and brace in image URLs",
        _with(lambda s, n: value("images", [f"https://cdn.example.com/é {{{n}}}.jpg"])),
    ),
    Fault(
        "comma in an additional image URL",
        _with(
            lambda s, n: value(
                "images",
                [f"https://cdn.example.com/{n}.jpg", f"https://cdn.example.com/w_1,h_1/{n}.jpg"],
            )
        ),
    ),
    Fault(
        "restricted GTIN",
        _with(lambda s, n: value("gtin", _gtin(("20", "04", "2")[n % 3], n))),
        google="gtin",
        meta="gtin",  # not a globally valid GTIN on any platform
    ),
    Fault(
        "coupon GTIN",
        _with(lambda s, n: value("gtin", _gtin("99", n))),
        google="gtin",
        meta="gtin",
    ),
    Fault(
        "C0 control character in the title",
        _with(lambda s, n: value("name", f"Mug\x07{n}", "en_US")),
        google="control_character",
        meta="control_character",
    ),
    Fault(
        "C1 or DEL in the description",
        _with(lambda s, n: value("description", f"Mug {n}\x7f\x9d", "en_US")),
        google="control_character",
        meta="control_character",
    ),
    Fault(
        "quotes, tabs and line breaks",
        _with(
            lambda s, n: value("name", f'"Mug" {n}, 12" wide', "en_US"),
            lambda s, n: value("description", f"Mug {n}\tglazed\nnew", "en_US"),
        ),
    ),
    Fault(
        "title over 150 characters",
        _with(lambda s, n: value("name", "M" * 151, "en_US")),
        google="max_length",
    ),
    Fault(
        "HTML in the title",
        _with(lambda s, n: value("name", f"<b>Mug</b> {n}", "en_US")),
        meta="html",
    ),
    Fault("no brand", _with(value("brand", None)), google="required", meta="required"),
    Fault("no price", _with(), google="required", meta="required", priced=False),
    Fault("price in USD", _with(), google="currency", meta="currency", priced=False, usd=True),
    Fault(
        "incomplete for the channel",
        _with(value("color", None)),
        google="completeness",
        meta="completeness",
    ),
)


def _sku(fault: int, copy: int) -> str:
    return f"M{fault:02d}-{copy:03d}"


def _seed(db: Database) -> dict[str, Fault]:
    pricing.save_price_list(db, "google_usd", "google", "USD")
    pricing.save_price_list(db, "meta_usd", "meta", "USD")
    for channel in ("google", "meta"):
        catalog.add_requirements(db, channel, [Requirement("color", RuleKind.REQUIRED)])
    faults: dict[str, Fault] = {}
    items = []
    for f, fault in enumerate(FAULTS):
        for copy in range(COPIES):
            sku = _sku(f, copy)
            faults[sku] = fault
            items.append(fault.make(sku, 1000 + f * COPIES + copy))
    # Ids equal but for case: the later product is held back everywhere.
    for copy in range(COPIES):
        sku = _sku(0, copy).lower()
        faults[sku] = Fault("id equal but for case", _with(), "duplicate_id", "duplicate_id")
        items.append(product(sku, 5000 + copy))
    save(db, *items)
    for channel in ("google", "meta"):
        own = [PriceInput(sku, "24.50") for sku, fault in faults.items() if fault.priced]
        assert not save_prices(db, own, f"{channel}_eur").rejected
        usd = [PriceInput(sku, "24.50") for sku, fault in faults.items() if fault.usd]
        assert not save_prices(db, usd, f"{channel}_usd").rejected
    return faults


# --- an independent reading of the pages (answer/6324416, 6324350, 6286293, 6286302, 7052112)

_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(/[A-Za-z0-9\-._~!$&'()*+;=:@/%?#]*)?$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _google_problems(item: dict[str, list[str]]) -> list[str]:
    problems = []
    for name in ("link", "image_link", "additional_image_link"):
        for url in item.get(name, []):
            if not _URL.match(url) or "," in url:
                problems.append(f"{name} {url!r}")
    for gtin in item.get("gtin", []):
        thirteen = gtin.zfill(14)[1:]
        if thirteen.startswith(("2", "02", "04", "981", "982", "983", "984", "99", "05")):
            problems.append(f"gtin {gtin}")
    for name, values in item.items():
        if any(_CONTROL.search(v) for v in values):
            problems.append(f"{name} control")
    if len(item["id"][0]) > 50 or len(item.get("title", [""])[0]) > 150:
        problems.append("length")
    if not re.fullmatch(r"\d+\.\d{2} EUR", item["price"][0]):
        problems.append("price")
    return problems


def test_the_feeds_of_a_messy_catalog_hold_exactly_the_valid_items(shop: Database) -> None:
    faults = _seed(shop)
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    service.create_feed(shop, feed_input("gtsv", FeedKind.GOOGLE_PRODUCTS, FeedFormat.TSV))
    service.create_feed(shop, feed_input("meta", FeedKind.META_CATALOG, FeedFormat.CSV))
    xml, tsv, meta = (service.publish(shop, code) for code in ("gxml", "gtsv", "meta"))
    fixture = {f"MUG-{n}" for n in range(1, 6)}  # the shop's five clean mugs

    for version, rule_of in ((xml, "google"), (tsv, "google"), (meta, "meta")):
        expected_valid = fixture | {
            sku for sku, fault in faults.items() if getattr(fault, rule_of) is None
        }
        expected_held = {
            sku: getattr(fault, rule_of)
            for sku, fault in faults.items()
            if getattr(fault, rule_of) is not None
        }
        assert not version.report["truncated"]
        named: dict[str, set[str]] = {}
        for violation in version.report["violations"]:
            named.setdefault(violation["item"], set()).add(violation["rule"])
        assert set(named) == set(expected_held), version.feed
        for sku, rule in expected_held.items():
            assert rule in named[sku], (version.feed, sku, named[sku])
        assert version.rejected == len(expected_held)
        assert version.items == len(expected_valid)
        if version.feed == "gxml":
            items: dict[str, dict[str, list[str]]] = {}
            for element in ET.parse(version.path).getroot().iter("item"):
                fields: dict[str, list[str]] = {}
                for child in element:
                    fields.setdefault(child.tag[len(G) :], []).append(child.text or "")
                items[fields["id"][0]] = fields
            assert set(items) == expected_valid
            for sku, item in items.items():
                assert _google_problems(item) == [], sku
        else:
            delimiter = "\t" if version.feed == "gtsv" else ","
            text = Path(version.path).read_text(encoding="utf-8")
            rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
            assert {row["id"] for row in rows} == expected_valid, version.feed
            assert all(row["image_link"].isascii() for row in rows)
            if version.feed == "gtsv":
                by_id = {row["id"]: row for row in rows}
                for sku, item in items.items():  # XML and TSV carry identical values
                    for name, values in item.items():
                        cell = by_id[sku][name]
                        got = (
                            next(csv.reader([cell])) if name == "additional_image_link" else [cell]
                        )
                        assert got == values, (sku, name)
