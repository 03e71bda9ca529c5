"""The automation commands of docs/automation.md, run for real (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app
from channelhub.core.database import Database
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock

RULE = """
code: low-stock-hold
event: stock.changed
actions:
  - type: hold_offers
    below: 3
"""


@pytest.fixture
def cli(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    make_world(sqlite_db)
    save(sqlite_db, mug("MUG-1"))
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_rule_save_dry_run_run_and_log(cli: CliRunner, sqlite_db: Database, tmp_path: Path) -> None:
    rule = tmp_path / "low-stock.yaml"
    rule.write_text(RULE)
    assert "version 1 (enabled)" in run(cli, "automation", "rule", "save", str(rule))
    rule.write_text(RULE.replace("below: 3", "below: 5"))
    assert "version 2" in run(cli, "automation", "rule", "save", str(rule))
    assert "below: 3" in run(cli, "automation", "rule", "show", "low-stock-hold", "--version", "1")
    stock(sqlite_db, "wh", MUG_1=2)
    dry = run(cli, "automation", "rule", "dry-run", "low-stock-hold", "--last", "5")
    assert "hold MUG-1 on bol" in dry
    assert "bol" not in run(cli, "automation", "holds")  # a dry run does nothing
    assert "event(s)" in run(cli, "automation", "run", "--once")
    assert "MUG-1" in run(cli, "automation", "holds")
    assert "applied" in run(cli, "automation", "log", "--rule", "low-stock-hold")
    assert "disabled" in run(cli, "automation", "rule", "disable", "low-stock-hold")
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: x\nevent: stock.changed\nactions: []\n")
    assert "actions" in run(cli, "automation", "rule", "save", str(bad), code=2)
