"""``channelhub feed``: create, generate to a file, validate."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app
from channelhub.core.database import Database
from tests.factories import save, value
from tests.feeds.conftest import LINK, product


def test_create_generate_and_validate(
    shop: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", shop.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    cli = CliRunner()
    created = cli.invoke(
        app,
        [
            "feed",
            "create",
            "google-nl",
            "--channel",
            "google",
            "--locale",
            "nl_NL",
            "--format",
            "tsv",
            "--link",
            LINK,
            "--settings",
            '{"image_base_url": "https://cdn.example.com"}',
        ],
    )
    assert created.exit_code == 0, created.output
    assert created.output.strip().splitlines()[-1].startswith("chf_")
    bad = cli.invoke(
        app,
        [
            "feed",
            "create",
            "x",
            "--channel",
            "google",
            "--locale",
            "nl_NL",
            "--format",
            "csv",
            "--link",
            LINK,
        ],
    )
    assert bad.exit_code == 2 and "google_products feed is written as xml or tsv" in bad.output

    output = tmp_path / "google-nl.tsv"
    generated = cli.invoke(app, ["feed", "generate", "google-nl", "--output", str(output)])
    assert generated.exit_code == 0, generated.output
    rows = list(csv.DictReader(output.open(encoding="utf-8"), delimiter="\t"))
    assert [r["title"] for r in rows] == [f"Mok {n}" for n in range(1, 6)]
    assert rows[0]["link"] == "https://shop.example.com/nl/p/MUG-1"
    assert cli.invoke(app, ["feed", "validate", "google-nl"]).exit_code == 0

    save(shop, product("MUG-2", 2, values=[value("brand", None)]))
    checked = cli.invoke(app, ["feed", "validate", "google-nl"])
    assert checked.exit_code == 1
    assert "MUG-2: brand (required): brand is required for new products" in checked.output
    delta = cli.invoke(app, ["feed", "generate", "google-nl", "--delta"])
    assert delta.exit_code == 0 and "0 items, 1 removed, 1 held back" in delta.output
    listed = cli.invoke(app, ["feed", "list"])
    assert "google-nl" in listed.output
