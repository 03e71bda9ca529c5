"""``channelhub pos lookup``, run for real on SQLite."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app
from channelhub.core.database import Database
from tests.pos.conftest import MUG_GTIN, make_retailer


def test_lookup_from_the_shell(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    make_retailer(sqlite_db)
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    cli = CliRunner()
    found = cli.invoke(app, ["pos", "lookup", "store_ams", MUG_GTIN])
    assert found.exit_code == 0, found.output
    assert "MUG-1" in found.output and "12.50 EUR" in found.output
    rows = [line for line in found.output.splitlines() if "Store" in line or "Warehouse" in line]
    assert "ams (this store)" in rows[0] and "Warehouse" in rows[1]
    missing = cli.invoke(app, ["pos", "lookup", "store_zzz", "MUG-1"])
    assert missing.exit_code == 2 and "store 'store_zzz' does not exist" in missing.output
    get_settings.cache_clear()
