"""Pricing from the command line, the way the README shows it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from channelhub.cli.main import app
from channelhub.core.database import Database

runner = CliRunner()


def run(db: Database, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", db.url, *args])
    return result.exit_code, result.output


def test_cli_price_lists_prices_promotions_and_parity(priced: Database, tmp_path: Path) -> None:
    prices_csv = tmp_path / "prices.csv"
    prices_csv.write_text(
        "price_list,sku,base_price,sale_price,sale_starts_at,sale_ends_at\n"
        "web_eur,MUG-1,12.50,,,\n"
        "bol_eur,MUG-1,13.00,,,\n"
        "web_eur,MUG-2,9.99,7.99,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"
        "web_eur,MUG-3,1.00,,,\n"
    )
    code, out = run(priced, "price", "import", str(prices_csv))
    assert code == 1, out  # one row rejected
    assert "3 created" in out and "MUG-3" in out
    code, out = run(priced, "price", "import", str(prices_csv))
    assert "3 unchanged" in out

    code, out = run(
        priced,
        "promotion",
        "set",
        "vip5",
        "--kind",
        "fixed_amount",
        "--value",
        "5",
        "--currency",
        "EUR",
        "--segment",
        "vip",
        "--channel",
        "web",
    )
    assert code == 0, out
    code, out = run(
        priced, "price", "resolve", "MUG-1", "--channel", "web", "--segment", "vip", "--json"
    )
    assert code == 0, out
    assert json.loads(out)["effective_price"] == "7.50"
    code, out = run(priced, "price", "resolve", "MUG-2", "--channel", "web")
    assert "effective price 7.99 EUR" in out

    code, out = run(priced, "parity", "report")
    assert code == 1 and "2 parity breaks" in out
    code, out = run(priced, "parity", "allow", "bol", "web", "--percent", "5")
    assert code == 0, out
    code, out = run(priced, "parity", "report", "--json")
    report = json.loads(out)
    assert [b["sku"] for b in report["breaks"]] == ["MUG-2"]

    code, out = run(priced, "price-list", "list")
    assert "web_eur" in out
    code, out = run(priced, "price", "set", "bol_eur", "MUG-2", "9.99", "--sale", "7.99")
    assert code == 0, out
    code, out = run(priced, "parity", "report")
    assert code == 0, out
