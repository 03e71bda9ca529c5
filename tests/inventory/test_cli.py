"""The CLI commands of the README's inventory and order section, run for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app
from channelhub.core.database import Database
from tests.factories import make_catalog


@pytest.fixture
def cli(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    make_catalog(sqlite_db)
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    return CliRunner()


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_readme_walkthrough(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "location", "add", "wh", "--name", "Warehouse", "--priority", "10")
    run(cli, "location", "add", "ams", "--name", "Store Amsterdam", "--kind", "store", "--pickup")
    run(cli, "location", "link", "web", "wh", "ams")
    run(cli, "stock", "receive", "MUG-1", "wh", "5")
    counts = tmp_path / "counts.csv"
    counts.write_text("sku,location,quantity\nMUG-1,ams,2\n")
    assert "applied" in run(cli, "stock", "import", "count", str(counts))
    assert "already applied" in run(cli, "stock", "import", "count", str(counts))
    assert "MUG-1: 7" in run(cli, "stock", "available", "web", "MUG-1")
    orders = tmp_path / "orders.jsonl"
    line = {
        "channel": "web",
        "external_id": "1001",
        "currency": "EUR",
        "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.50"}],
    }
    orders.write_text(json.dumps(line) + "\n")
    assert "1 created" in run(cli, "order", "import", str(orders))
    assert "1 unchanged" in run(cli, "order", "import", str(orders))
    assert "routed" in run(cli, "order", "show", "1")
    assert "partially_shipped" in run(cli, "order", "ship", "1", "--item", "1=1")
    assert "is shipped" in run(cli, "order", "ship", "1")
    assert "refunded 12.50 EUR" in run(
        cli, "order", "return", "1", "--location", "ams", "--item", "1=1"
    )
    assert "ledger ok" in run(cli, "stock", "audit")
    run(cli, "stock", "ledger", "--sku", "MUG-1")


def test_a_cli_error_is_a_message_and_exit_code_2(cli: CliRunner) -> None:
    result = cli.invoke(app, ["stock", "transfer", "MUG-1", "nowhere", "wh", "1"])
    assert result.exit_code == 2
    assert "does not exist" in result.output
