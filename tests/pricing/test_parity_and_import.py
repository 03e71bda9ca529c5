"""The parity report and the CSV import, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from decimal import Decimal

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.pricing import importing, parity, prices, promotions, service
from channelhub.pricing.model import Promotion, PromotionKind
from channelhub.pricing.prices import PriceInput

D = Decimal


def test_parity_lists_skus_beyond_the_rules_per_currency(priced: Database) -> None:
    catalog.save_channel(
        priced,
        catalog.ChannelInput(
            "uk", "UK shop", ChannelKind.WEBSHOP, ChannelMode.INTEGRATED, ("en_US",), "GBP"
        ),
    )
    catalog.save_channel(
        priced,
        catalog.ChannelInput(
            "pos", "Stores", ChannelKind.STORE, ChannelMode.INDEPENDENT, ("en_US",), "EUR"
        ),
    )
    service.save_price_list(priced, "uk_gbp", "uk")
    service.save_price_list(priced, "pos_eur", "pos")
    prices.save_prices(
        priced,
        [
            PriceInput("MUG-1", "10.00", price_list="web_eur"),
            PriceInput("MUG-1", "10.40", price_list="bol_eur"),
            PriceInput("MUG-2", "10.00", price_list="web_eur"),
            PriceInput("MUG-2", "10.00", price_list="bol_eur"),
            PriceInput("SHIRT-1", "30.00", price_list="web_eur"),
            PriceInput("MUG-1", "5.00", price_list="uk_gbp"),
            PriceInput("MUG-1", "1.00", price_list="pos_eur"),
        ],
    )
    report = parity.parity_report(priced)
    assert report.compared == {"EUR": ["bol", "web"]}
    assert "uk" in report.not_compared and "pos" not in report.compared["EUR"]
    assert report.skus_checked == 3
    found = {(b.sku, b.difference) for b in report.breaks}
    assert found == {("MUG-1", D("0.40")), ("SHIRT-1", None)}

    parity.save_parity_rule(priced, "bol", None, max_percent="5")
    assert {b.sku for b in parity.parity_report(priced).breaks} == {"SHIRT-1"}

    # a promotion on one channel only breaks parity for the SKUs it reaches
    promotions.save_promotion(
        priced,
        Promotion("web20", PromotionKind.PERCENTAGE, D("20"), channels=frozenset({"web"})),
    )
    breaks = parity.parity_report(priced).breaks
    assert {b.sku for b in breaks} == {"MUG-1", "MUG-2", "SHIRT-1"}
    rule = parity.save_parity_rule(priced, "bol", "web", max_amount="3", currency="EUR")
    assert {b.sku for b in parity.parity_report(priced).breaks} == {"SHIRT-1"}
    assert len(parity.list_parity_rules(priced)) == 2
    parity.delete_parity_rule(priced, rule.id)
    assert len(parity.list_parity_rules(priced)) == 1


CSV = """price_list,sku,base_price,sale_price,sale_starts_at,sale_ends_at
web_eur,MUG-1,12.50,,,
web_eur,MUG-2,9.99,7.99,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z
web_eur,NOPE,1.00,,,
web_eur,MUG-2,abc,,,
bol_eur,MUG-1,12.50,,,
web_eur,SHIRT-1,30,,yesterday,
"""


def test_csv_import_reports_bad_rows_and_is_idempotent(priced: Database) -> None:
    report = importing.import_prices(priced, io.StringIO(CSV))
    assert report.file_errors == []
    assert report.prices.created == 3
    rejected = [(r.line, r.sku, r.column) for r in report.prices.rejected]
    assert rejected == [
        (4, "NOPE", "sku"),
        (5, "MUG-2", "base_price"),
        (7, "SHIRT-1", "sale_starts_at"),
    ]
    again = importing.import_prices(priced, io.StringIO(CSV))
    assert (again.prices.created, again.prices.updated, again.prices.unchanged) == (0, 0, 3)
    assert again.prices.events == 0


def test_csv_import_refuses_a_bad_header_and_writes_nothing(priced: Database) -> None:
    report = importing.import_prices(priced, io.StringIO("sku,price\nMUG-1,1\n"))
    assert report.file_errors and report.prices.rows == 0
    ok = importing.import_prices(priced, io.StringIO("sku,base_price\nMUG-1,2\n"), "bol_eur")
    assert ok.prices.created == 1 and service.resolve(priced, "MUG-1", "bol").effective_price == 2


def test_csv_import_atomic_and_ragged_rows(priced: Database) -> None:
    text = "sku,base_price\nMUG-1,2\nMUG-2,3,extra\n"
    report = importing.import_prices(priced, io.StringIO(text), "web_eur", atomic=True)
    assert [(r.line, r.reason) for r in report.prices.rejected] == [
        (3, "the row has more fields than the header")
    ]
    assert prices.list_prices(priced, "web_eur").items == []
