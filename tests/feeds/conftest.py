"""Feed fixtures: the factory catalog with a Google and a Meta channel, prices, stock in a
warehouse and two stores, and a feed of each kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode, Status
from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database
from channelhub.feeds import service
from channelhub.feeds.model import FeedFormat, FeedKind
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChannelLink
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from tests.factories import gtin, make_catalog, save, value
from tests.inventory.factories import make_locations, stock

LINK = "https://shop.example.com/{language}/p/{sku}"


def product(sku: str, n: int, **extra: object) -> ProductInput:
    """An approved mug with everything Google asks for."""
    item = ProductInput(
        sku=sku,
        family="mugs",
        categories=["kitchen"],
        status=Status.APPROVED,
        values=[
            value("name", f"Mug {n}", "en_US"),
            value("name", f"Mok {n}", "nl_NL"),
            value("description", f"A stoneware mug, number {n} & more < 5 cm >", "en_US"),
            value("description", f"Een mok, nummer {n}", "nl_NL"),
            value("brand", "Hearth"),
            value("gtin", gtin(n)),
            value("images", [f"img/{sku}-1.jpg", f"https://cdn.example.com/{sku}-2.jpg"]),
            value("color", "black"),
        ],
    )
    for name, data in extra.items():
        setattr(item, name, data)
    return item


def feed_input(code: str, kind: FeedKind, feed_format: FeedFormat, **settings: object):  # type: ignore[no-untyped-def]
    channel = "meta" if kind is FeedKind.META_CATALOG else "google"
    return service.FeedInput(
        code,
        f"{code} feed",
        kind,
        feed_format,
        channel,
        "en_US",
        {"link_template": LINK, "image_base_url": "https://cdn.example.com", **settings},
    )


@pytest.fixture
def shop(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("CHANNELHUB_FEED_DIR", str(tmp_path / "feeds"))
    make_catalog(db)
    for code, kind in (("google", ChannelKind.FEED), ("meta", ChannelKind.SOCIAL)):
        catalog.save_channel(
            db,
            catalog.ChannelInput(
                code, code.title(), kind, ChannelMode.INTEGRATED, ("en_US", "nl_NL"), "EUR"
            ),
        )
    catalog.save_category(db, "mugs_cat", "kitchen")
    save(db, *(product(f"MUG-{n}", n) for n in range(1, 6)))
    make_locations(db)
    for channel in ("google", "meta"):
        inventory.link_channel(
            db, channel, [ChannelLink("wh"), ChannelLink("ams"), ChannelLink("rtm")]
        )
        pricing.save_price_list(db, f"{channel}_eur", channel)
        report = save_prices(
            db,
            [PriceInput(f"MUG-{n}", f"{10 + n}.50") for n in range(1, 6)],
            f"{channel}_eur",
        )
        assert not report.rejected, report.rejected
    stock(db, "wh", MUG_1=10, MUG_2=3, MUG_4=7)
    stock(db, "ams", MUG_1=2, MUG_2=1)
    stock(db, "rtm", MUG_1=4)
    return db
