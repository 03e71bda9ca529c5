"""docs/connectors/amazon.md's connection commands run as written, against the sandbox."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.cli.main import app
from channelhub.connectors.amazon import AmazonConnector
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.sandbox.amazon import AmazonState, create_app
from channelhub.sandbox.server import serve_in_thread
from tests.factories import make_catalog, mug, save
from tests.inventory.factories import add_channel

DOC = Path(__file__).resolve().parents[3] / "docs" / "connectors" / "amazon.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_documented_commands_connect_to_the_sandbox(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_catalog(sqlite_db)
    add_channel(sqlite_db, "amazon", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED)
    save(sqlite_db, mug("MUG-1"))
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    state = AmazonState()
    [config] = [json.loads(block) for block in blocks("json")]
    commands = [
        shlex.split(line)[1:]
        for block in blocks("sh")
        for line in block.splitlines()
        if line.startswith("channelhub ")
    ]
    assert [c[:2] for c in commands] == [
        ["connection", "add"],
        ["connection", "test"],
        ["connection", "preview"],
    ]
    assert set(config) <= set(AmazonConnector.config_model.model_fields)
    try:
        with serve_in_thread(create_app(state)) as url:
            config |= {
                "seller_id": state.seller.seller_id,
                "marketplace_id": state.seller.marketplace_id,
                "client_id": state.client_id,
                "client_secret": state.client_secret,
                "refresh_token": state.refresh_token,
                "endpoint": url,
                "token_url": f"{url}/auth/o2/token",
            }
            Path("amazon.json").write_text(json.dumps(config))
            runner = CliRunner()
            outputs = []
            for args in commands:
                result = runner.invoke(app, args)
                assert result.exit_code == 0, (args, result.output)
                outputs.append(result.output)
    finally:
        get_settings.cache_clear()
    assert "A2SANDBOXSELLER" in outputs[1]
    assert "MUG-1" in outputs[2]
    assert ("getFeeds", "/feeds/2021-06-30/feeds") in state.requests
