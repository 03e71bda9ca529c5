"""``channelhub journeys`` run for real (SQLite)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app
from channelhub.core.database import Database
from tests.customers.journeys.conftest import buy, customer, make_shop


@pytest.fixture
def cli(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    make_shop(sqlite_db)
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_the_journeys_commands(cli: CliRunner, sqlite_db: Database) -> None:
    ann = customer(sqlite_db, "ann@example.com")
    run(cli, "journeys", "rule", "pos", "--points-per-unit", "1", "--multiplier", "3")
    buy(sqlite_db, "P1", ("MUG-1", 1), channel="pos", store="ams", profile_id=ann)
    buy(sqlite_db, "W1", ("MUG-1", 1), ("MUG-2", 1), profile_id=ann)
    assert "read 0 events" in run(cli, "journeys", "process")
    assert "55 points" in run(cli, "journeys", "loyalty", str(ann))  # 30 + 25
    assert "balance 50" in run(
        cli, "journeys", "burn", str(ann), "5", "--channel", "web", "--reference", "r1"
    )
    refused = run(
        cli, "journeys", "burn", str(ann), "500", "--channel", "web", "--reference", "r2", code=2
    )
    assert "has 50 points; cannot spend 500" in refused
    run(cli, "journeys", "consent", str(ann), "sms", "--grant", "--source", "pos")
    run(cli, "journeys", "note", str(ann), "asked for red mugs", "--author", "Kim")
    assert "scored 1 customers" in run(cli, "journeys", "segments")
    shown = json.loads(run(cli, "journeys", "view", str(ann), "--json"))
    assert shown["loyalty_balance"] == 50 and shown["consents"]["sms"] is True
    assert {e["kind"] for e in shown["timeline"]} >= {"order", "loyalty", "consent", "note"}
    assert "rfm_" in " ".join(shown["segments"])
    recommended = json.loads(run(cli, "journeys", "recommend", "--sku", "MUG-1"))
    assert recommended["bought_together"] == [{"sku": "MUG-2", "score": 1}]
