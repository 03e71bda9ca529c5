"""The item cache: a full publication streams the stored fragment of every unchanged item and
builds only the rest, and its file is byte for byte the one a cold build writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.feeds import service
from channelhub.feeds.model import FeedFormat, FeedKind, VersionKind
from channelhub.pricing.prices import PriceInput, save_prices
from tests.factories import save, value
from tests.feeds.conftest import feed_input, product
from tests.inventory.factories import stock


def _same_as_cold(shop: Database, code: str, warm: service.Publication) -> None:
    cold = service.publish_measured(shop, code, cache=False)
    assert not cold.cached and cold.rendered == cold.version.report["items"]
    assert Path(warm.version.path).read_bytes() == Path(cold.version.path).read_bytes()
    assert warm.version.etag == cold.version.etag
    assert warm.version.items == cold.version.items
    assert warm.version.report == cold.version.report


@pytest.mark.parametrize(
    ("kind", "feed_format"),
    [
        (FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML),
        (FeedKind.GOOGLE_PRODUCTS, FeedFormat.TSV),
        (FeedKind.META_CATALOG, FeedFormat.CSV),
    ],
)
def test_a_warm_full_version_builds_only_changed_items_and_equals_a_cold_one(
    shop: Database, kind: FeedKind, feed_format: FeedFormat
) -> None:
    unbranded = product("MUG-7", 7)
    unbranded.values = [v for v in unbranded.values if v.attribute != "brand"]
    save(shop, unbranded)
    channel = "meta_eur" if kind is FeedKind.META_CATALOG else "google_eur"
    assert not save_prices(shop, [PriceInput("MUG-7", "3.00")], channel).rejected
    service.create_feed(shop, feed_input("f", kind, feed_format))
    first = service.publish_measured(shop, "f")
    assert not first.cached and first.rendered == 6 and first.version.rejected == 1

    unchanged = service.publish_measured(shop, "f")
    assert unchanged.cached
    # Nothing changed: every valid item comes from the cache; the invalid one, never cached,
    # is built (and rejected) again, so the report is the same.
    assert unchanged.rendered == 1 and unchanged.version.rejected == 1
    assert Path(unchanged.version.path).read_bytes() == Path(first.version.path).read_bytes()
    assert unchanged.version.etag == first.version.etag

    save(shop, product("MUG-2", 2, values=[value("name", "Big mug", "en_US")]))
    save(shop, product("MUG-9", 9))
    assert not save_prices(
        shop, [PriceInput("MUG-4", "99.00"), PriceInput("MUG-9", "5.00")], channel
    ).rejected
    stock(shop, "wh", MUG_3=4)
    change_status(shop, "MUG-5", Status.DRAFT, "test")
    warm = service.publish_measured(shop, "f")
    assert warm.cached
    # MUG-2 (renamed), MUG-3 (stock), MUG-4 (price), MUG-9 (new), MUG-7 (invalid, uncached).
    assert warm.rendered == 5
    assert warm.version.removed == 1  # MUG-5 went back to draft
    body = Path(warm.version.path).read_text(encoding="utf-8")
    assert "Big mug" in body and "99.00 EUR" in body and "MUG-9" in body
    assert "MUG-5" not in body and "MUG-7" not in body
    _same_as_cold(shop, "f", warm)


def test_a_delta_between_full_versions_keeps_the_cache_exact(shop: Database) -> None:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    service.publish(shop, "gxml")
    save(shop, product("MUG-1", 1, values=[value("name", "Renamed", "en_US")]))
    delta = service.publish(shop, "gxml", VersionKind.DELTA)
    assert delta.items == 1
    # A delta leaves the newest full's items as they were (the next delta is cumulative
    # against them), so the next full builds the changed product afresh.
    warm = service.publish_measured(shop, "gxml")
    assert warm.cached and warm.rendered == 1
    assert "Renamed" in Path(warm.version.path).read_text(encoding="utf-8")
    _same_as_cold(shop, "gxml", warm)


def test_a_changed_definition_builds_every_item(shop: Database) -> None:
    service.create_feed(shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML))
    service.publish(shop, "gxml")
    service.update_feed(
        shop, feed_input("gxml", FeedKind.GOOGLE_PRODUCTS, FeedFormat.XML, default_condition="used")
    )
    again = service.publish_measured(shop, "gxml")
    assert not again.cached and again.rendered == 5
    assert "<g:condition>new</g:condition>" not in Path(again.version.path).read_text("utf-8")
