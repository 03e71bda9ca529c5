"""Prices, promotions and their events through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from channelhub.core.database import Database
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.core.events import outbox
from channelhub.pricing import prices, promotions, service
from channelhub.pricing.model import Promotion, PromotionKind
from channelhub.pricing.prices import PriceInput

D = Decimal


def events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.key, outbox.c.payload)
            .where(outbox.c.topic == "pricing.price_changed")
            .order_by(outbox.c.id)
        )
        return [(r.key, r.payload) for r in rows]


def price(db: Database, sku: str, channel: str = "web", **kw: Any) -> Decimal:
    return service.resolve(db, sku, channel, **kw).effective_price


def test_bulk_upsert_is_idempotent_and_announces_only_changes(priced: Database) -> None:
    rows = [
        PriceInput("MUG-1", "12.50", price_list="web_eur", line=2),
        PriceInput("MUG-2", "8", price_list="web_eur", line=3),
        PriceInput("MUG-1", "12.50", price_list="bol_eur", line=4),
    ]
    report = prices.save_prices(priced, rows)
    assert (report.created, report.updated, report.events, report.rejected) == (3, 0, 3, [])
    assert [k for k, _ in events(priced)] == ["bol:MUG-1", "web:MUG-1", "web:MUG-2"]
    payload = events(priced)[1][1]
    assert payload["prices"] == [{"currency": "EUR", "segment": None, "price": "12.50"}]
    assert payload["previous"] == []
    again = prices.save_prices(priced, rows)
    assert (again.created, again.updated, again.unchanged, again.events) == (0, 0, 3, 0)
    assert len(events(priced)) == 3
    changed = prices.save_prices(priced, [PriceInput("MUG-2", "7.99", price_list="web_eur")])
    assert (changed.updated, changed.events) == (1, 1)
    assert price(priced, "MUG-2") == D("7.99")


def test_bad_rows_are_reported_with_line_column_reason_and_never_written(
    priced: Database,
) -> None:
    rows = [
        PriceInput("MUG-1", "10.00", price_list="web_eur", line=2),
        PriceInput("MUG-2", "10.001", price_list="web_eur", line=3),
        PriceInput("NOPE", "10.00", price_list="web_eur", line=4),
        PriceInput("MUG-2", "10.00", sale_price="11.00", price_list="web_eur", line=5),
        PriceInput("MUG-2", "10.00", price_list="nope", line=6),
        PriceInput("MUG-2", "10", "9", sale_starts_at="2025-01-01", price_list="web_eur", line=7),
        PriceInput("MUG-1", "11.00", price_list="web_eur", line=8),
    ]
    report = prices.save_prices(priced, rows)
    found = {(r.line, r.column) for r in report.rejected}
    assert found == {
        (3, "base_price"),
        (4, "sku"),
        (5, "sale_price"),
        (6, "price_list"),
        (7, "sale_starts_at"),
        (8, "sku"),
    }
    assert report.created == 1
    assert price(priced, "MUG-1") == D("10.00")
    with pytest.raises(NotFound):
        service.resolve(priced, "MUG-2", "web")


def test_atomic_upsert_writes_nothing_when_a_row_is_bad(priced: Database) -> None:
    rows = [
        PriceInput("MUG-1", "10.00", price_list="web_eur", line=2),
        PriceInput("MUG-2", "-1", price_list="web_eur", line=3),
    ]
    report = prices.save_prices(priced, rows, atomic=True)
    assert report.created == 0 and len(report.rejected) == 1
    assert events(priced) == []
    with pytest.raises(NotFound):
        service.resolve(priced, "MUG-1", "web")


def test_sale_with_period_and_resolution_at_a_time(priced: Database) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    prices.save_prices(
        priced,
        [PriceInput("MUG-1", "20", "15", start, start + timedelta(days=7), "web_eur")],
    )
    assert price(priced, "MUG-1") == D("20.00")
    assert price(priced, "MUG-1", at=start) == D("15.00")
    assert price(priced, "MUG-1", at=start + timedelta(days=7)) == D("20.00")


def test_promotion_by_category_subtree_and_segment_announces_changes(priced: Database) -> None:
    prices.save_prices(
        priced,
        [
            PriceInput("MUG-1", "10.00", price_list="web_eur"),
            PriceInput("SHIRT-1", "30.00", price_list="web_eur"),
            PriceInput("MUG-1", "10.00", price_list="bol_eur"),
        ],
    )
    before = len(events(priced))
    home = Promotion(
        "home10",
        PromotionKind.PERCENTAGE,
        D("10"),
        categories=frozenset({"home"}),
        channels=frozenset({"web"}),
    )
    promotions.create_promotion(priced, home)
    new = events(priced)[before:]
    assert [k for k, _ in new] == ["web:MUG-1"]
    assert price(priced, "MUG-1") == D("9.00")
    assert price(priced, "MUG-1", channel="bol") == D("10.00")
    assert price(priced, "SHIRT-1") == D("30.00")
    with pytest.raises(Conflict):
        promotions.create_promotion(priced, home)

    vip = Promotion(
        "vip5",
        PromotionKind.FIXED_AMOUNT,
        D("5"),
        currency="EUR",
        segments=frozenset({"vip"}),
        is_stackable=True,
    )
    before = len(events(priced))
    promotions.save_promotion(priced, vip)
    keys = [k for k, _ in events(priced)[before:]]
    assert keys == ["bol:MUG-1", "web:MUG-1", "web:SHIRT-1"]
    assert price(priced, "SHIRT-1", segment="vip") == D("25.00")
    assert price(priced, "SHIRT-1") == D("30.00")
    r = service.resolve(priced, "MUG-1", "web", segment="vip")
    assert [a.code for a in r.applied] == ["vip5"]  # 10-5 beats 10-10%
    assert r.passed_over[0].code == "home10"

    before = len(events(priced))
    promotions.delete_promotion(priced, "vip5")
    assert len(events(priced)) - before == 3
    assert price(priced, "SHIRT-1", segment="vip") == D("30.00")


def test_unchanged_promotion_save_announces_nothing(priced: Database) -> None:
    prices.save_prices(priced, [PriceInput("MUG-1", "10.00", price_list="web_eur")])
    promo = Promotion("p", PromotionKind.PERCENTAGE, D("10"), skus=frozenset({"MUG-1"}))
    promotions.save_promotion(priced, promo)
    count = len(events(priced))
    promotions.save_promotion(priced, promo)
    assert len(events(priced)) == count
    future = Promotion(
        "later",
        PromotionKind.PERCENTAGE,
        D("50"),
        starts_at=datetime(2040, 1, 1, tzinfo=UTC),
    )
    promotions.save_promotion(priced, future)
    assert len(events(priced)) == count  # does not change any price now


def test_invalid_promotions_list_their_problems(priced: Database) -> None:
    bad = Promotion(
        "bad",
        PromotionKind.FIXED_AMOUNT,
        D("1.234"),
        currency="EUR",
        categories=frozenset({"nope"}),
    )
    with pytest.raises(InvalidInput) as error:
        promotions.save_promotion(priced, bad)
    assert [p.location for p in error.value.problems] == ["value"]
    bad = Promotion("bad", PromotionKind.PERCENTAGE, D("10"), categories=frozenset({"nope"}))
    with pytest.raises(InvalidInput) as error:
        promotions.save_promotion(priced, bad)
    assert [p.location for p in error.value.problems] == ["categories"]


def test_scheduled_changes_are_announced_once(priced: Database) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    prices.save_prices(
        priced,
        [PriceInput("MUG-1", "20", "15", t0 + timedelta(hours=1), None, "web_eur")],
    )
    promotions.save_promotion(
        priced,
        Promotion(
            "summer",
            PromotionKind.PERCENTAGE,
            D("10"),
            skus=frozenset({"MUG-2"}),
            starts_at=t0 + timedelta(hours=2),
        ),
    )
    prices.save_prices(priced, [PriceInput("MUG-2", "10", price_list="web_eur")])
    count = len(events(priced))
    assert promotions.announce_scheduled_changes(priced, t0) == 0  # sets the clock
    assert promotions.announce_scheduled_changes(priced, t0 + timedelta(hours=3)) == 2
    new = events(priced)[count:]
    assert {k for k, _ in new} == {"web:MUG-1", "web:MUG-2"}
    assert promotions.announce_scheduled_changes(priced, t0 + timedelta(hours=3)) == 0


def test_price_lists_are_one_per_channel_and_currency(priced: Database) -> None:
    with pytest.raises(Conflict):
        service.save_price_list(priced, "web_again", "web", "EUR")
    usd = service.save_price_list(priced, "web_usd", "web", "USD")
    assert usd.currency == "USD"
    with pytest.raises(Conflict):
        service.save_price_list(priced, "web_usd", "web", "GBP")
    prices.save_prices(priced, [PriceInput("MUG-1", "11.00", price_list="web_usd")])
    assert price(priced, "MUG-1", currency="USD") == D("11.00")
    ((_key, payload),) = events(priced)
    assert payload["prices"][0]["currency"] == "USD"
    assert service.delete_price_list(priced, "web_usd") == 1
    assert events(priced)[-1][1]["prices"] == []
    assert len(events(priced)) == 2
