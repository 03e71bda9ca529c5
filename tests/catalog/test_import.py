"""Imports and exports: every edge case leaves good rows in and bad rows out, with reasons."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from channelhub.catalog import exporting, service, store
from channelhub.catalog.browse import get_product
from channelhub.catalog.importing import import_file
from channelhub.cli.main import app
from channelhub.core.database import Database
from tests.factories import gtin, make_catalog

HEADER = ["sku", "family", "categories", "name-en_US", "name-nl_NL", "brand", "gtin", "pieces"]


@pytest.fixture
def catalog(db: Database) -> Database:
    make_catalog(db)
    return db


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", newline="", encoding=encoding) as sink:
        writer = csv.writer(sink)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(sku: str, n: int = 1, **cells: str) -> list[str]:
    base = {
        "sku": sku,
        "family": "mugs",
        "categories": "kitchen",
        "name-en_US": f"Mug {n}",
        "name-nl_NL": f"Mok {n}",
        "brand": "Hearth",
        "gtin": gtin(n),
        "pieces": "1",
    }
    base.update(cells)
    return [base[h] for h in HEADER]


def count_products(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(store.products)).scalar_one())


def test_a_clean_csv_creates_then_updates_then_changes_nothing(
    catalog: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "p.csv", HEADER, [row("A", 1), row("B", 2)])
    first = import_file(catalog, "products", path, None, "test")
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, [])
    write_csv(path, HEADER, [row("A", 1, brand="Other"), row("B", 2)])
    second = import_file(catalog, "products", path, None, "test")
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    assert get_product(catalog, "A").values["brand"][0].data == "Other"


def test_bad_rows_are_reported_by_line_and_column_and_good_rows_still_land(
    catalog: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        HEADER,
        [
            row("A", 1),
            row("B", 2, gtin="4006381333932"),  # wrong check digit
            row("C", 3, pieces="three"),  # wrong type
            row("A", 4),  # duplicate SKU in the file
            row("D", 5, family="garden"),  # unknown family
            row("E", 6),
        ],
    )
    report = import_file(catalog, "products", path, "csv", "test")
    assert report.created == 2 and count_products(catalog) == 2
    found = {(r.line, r.sku, r.column) for r in report.rejected}
    assert found == {(3, "B", "gtin"), (4, "C", "pieces"), (5, "A", "sku"), (6, "D", "family")}
    reasons = {r.sku: r.reason for r in report.rejected}
    assert "not a valid GTIN" in reasons["B"] and "not a number" in reasons["C"]


def test_a_duplicate_in_a_later_batch_is_still_caught(catalog: Database, tmp_path: Path) -> None:
    rows = [row(f"S{i}", i) for i in range(1, 8)] + [row("S2", 2, brand="Again")]
    path = write_csv(tmp_path / "p.csv", HEADER, rows)
    from channelhub.catalog import importing

    report = importing.import_products(catalog, path, "csv", "test", batch_size=3)
    assert [(r.line, r.sku, r.reason) for r in report.rejected] == [
        (9, "S2", "SKU appears earlier in this file")
    ]
    assert get_product(catalog, "S2").values["brand"][0].data == "Hearth"


def test_a_file_in_another_encoding_is_rejected_per_row_or_read_with_its_encoding(
    catalog: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "latin.csv", HEADER, [row("A", 1), row("B", 2, brand="Café")], "latin-1"
    )
    report = import_file(catalog, "products", path, "csv", "test")
    assert report.created == 1
    [rejected] = report.rejected
    assert (rejected.line, rejected.column) == (3, "brand") and "UTF-8" in rejected.reason
    again = import_file(catalog, "products", path, "csv", "test", encoding="latin-1")
    assert again.created == 1 and get_product(catalog, "B").values["brand"][0].data == "Café"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (["family", "brand"], "no 'sku' column"),
        (["sku", "family", "colour"], "'colour' is neither"),
        (["sku", "family", "name-fr_FR"], "neither a locale nor a channel"),
        (["sku", "brand", "brand"], "appears twice"),
    ],
)
def test_a_header_that_cannot_be_understood_refuses_the_file_before_writing(
    catalog: Database, tmp_path: Path, header: list[str], problem: str
) -> None:
    path = write_csv(tmp_path / "p.csv", header, [["A"] * len(header)])
    report = import_file(catalog, "products", path, "csv", "test")
    assert len(report.file_errors) == 1 and problem in report.file_errors[0]
    assert count_products(catalog) == 0


def test_rows_with_the_wrong_number_of_cells_are_rejected(
    catalog: Database, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("sku,family,brand\nA,mugs,Hearth\nB,mugs\n", encoding="utf-8")
    report = import_file(catalog, "products", path, "csv", "test")
    assert report.created == 1
    assert [(r.line, r.sku, r.reason) for r in report.rejected] == [
        (3, "B", "the row has 2 cells, the header 3")
    ]


def test_json_lines_reports_bad_json_and_unknown_fields(catalog: Database, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [
        {
            "sku": "A",
            "family": "mugs",
            "values": {"name": [{"locale": "en_US", "channel": None, "data": "Mug"}]},
        },
        "{not json",
        {"sku": "B", "family": "mugs", "colour": "red"},
        {
            "sku": "C",
            "family": "mugs",
            "values": {"pieces": [{"locale": None, "channel": None, "data": "x"}]},
        },
    ]
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    report = import_file(catalog, "products", path, None, "test")
    assert report.created == 1
    assert [(r.line, r.column) for r in report.rejected] == [
        (2, None),
        (3, "colour"),
        (4, "values.pieces[0]"),
    ]


def test_xlsx_files_import_like_csv(catalog: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row("X1", 1))
    sheet.append(row("X2", 2, pieces="12"))
    path = tmp_path / "p.xlsx"
    book.save(path)
    report = import_file(catalog, "products", path, None, "test")
    assert report.created == 2 and not report.rejected
    assert get_product(catalog, "X2").values["pieces"][0].data == "12"


def test_an_export_reimports_as_unchanged(catalog: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", HEADER, [row(f"E{i}", i) for i in range(1, 6)])
    import_file(catalog, "products", path, "csv", "test")
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"export.{fmt}"
        out.write_text("".join(exporting.export_products(catalog, fmt)), encoding="utf-8")
        report = import_file(catalog, "products", out, fmt, "test")
        assert (report.unchanged, report.rejected, report.file_errors) == (5, [], []), fmt


def test_reference_data_imports_including_a_parent_listed_after_its_child(
    db: Database, tmp_path: Path
) -> None:
    service.add_locale(db, "en_US")
    attributes = write_csv(
        tmp_path / "a.csv",
        ["code", "type", "localizable", "options", "label-en_US"],
        [
            ["name", "text", "true", "", "Name"],
            ["color", "select", "no", "red,blue", "Colour"],
            ["bad", "rainbow", "", "", ""],
        ],
    )
    report = import_file(db, "attributes", attributes, None, "test")
    assert report.created == 2 and report.rejected[0].line == 4
    families = write_csv(
        tmp_path / "f.csv", ["code", "attributes", "required"], [["tees", "name,color", "name"]]
    )
    assert import_file(db, "families", families, None, "test").created == 1
    categories = write_csv(
        tmp_path / "c.csv",
        ["code", "parent"],
        [["shirts", "apparel"], ["apparel", ""], ["x", "nowhere"]],
    )
    report = import_file(db, "categories", categories, None, "test")
    assert report.created == 2 and [r.line for r in report.rejected] == [4]
    assert [c.path for c in service.list_categories(db)] == [
        "/apparel/",
        "/apparel/shirts/",
    ]


def test_a_hundred_thousand_rows_stream_through(catalog: Database, tmp_path: Path) -> None:
    n = 100_000
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["sku", "family", "name-en_US", "brand", "gtin"])
        for i in range(n):
            writer.writerow(
                [f"BIG-{i}", "mugs", f"Mug {i}", "Hearth", gtin(i) if i % 1000 else "123"]
            )
    report = import_file(catalog, "products", path, "csv", "test", workers=2)
    assert report.rows == n
    assert report.created == n - 100 and len(report.rejected) == 100
    assert count_products(catalog) == n - 100


def test_the_cli_exits_non_zero_when_rows_or_the_file_are_refused(
    catalog: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", catalog.url)
    runner = CliRunner()
    good = write_csv(tmp_path / "good.csv", HEADER, [row("A", 1)])
    bad_row = write_csv(tmp_path / "bad.csv", HEADER, [row("B", 2, gtin="1")])
    bad_file = write_csv(tmp_path / "worse.csv", ["name"], [["x"]])
    report_path = tmp_path / "report.json"
    assert runner.invoke(app, ["import", "products", str(good), "--workers", "1"]).exit_code == 0
    result = runner.invoke(
        app, ["import", "products", str(bad_row), "--workers", "1", "--report", str(report_path)]
    )
    assert result.exit_code == 1
    assert json.loads(report_path.read_text())["rejected"][0]["column"] == "gtin"
    assert runner.invoke(app, ["import", "products", str(bad_file)]).exit_code == 2


@pytest.mark.parametrize("encoding", ["idna", "no-such-codec", "utf\x00"])
def test_an_encoding_we_cannot_read_refuses_the_file(
    catalog: Database, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / "p.csv", HEADER, [row("A", 1)])
    report = import_file(catalog, "products", path, "csv", "test", encoding=encoding)
    assert report.file_errors and "encoding" in report.file_errors[0]
    assert count_products(catalog) == 0


def test_a_utf16_file_without_a_byte_order_mark_is_refused_cleanly(
    catalog: Database, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xd8\x00sku")  # a lone surrogate half: not decodable as UTF-16-LE
    report = import_file(catalog, "products", path, "csv", "test", encoding="utf-16-le")
    assert report.file_errors or report.rejected
    assert count_products(catalog) == 0
