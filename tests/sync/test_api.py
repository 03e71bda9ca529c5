"""The sync API and CLI end to end: connections (secrets never shown), test connection,
mapping preview, jobs, replay, the log, reconciliation and /metrics."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.cli.main import app as cli_app
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from tests.factories import mug, save
from tests.inventory.factories import stock
from tests.sync.conftest import SECRET, Receiver, drain


def _api(db: Database) -> TestClient:
    _, token = create_key(db, "test", ["admin"])
    return TestClient(create_app(db), headers={"Authorization": f"Bearer {token}"})


def _connection(receiver: Receiver) -> dict[str, object]:
    return {
        "code": "web-hook",
        "platform": "webhook",
        "channel": "web",
        "config": {"url": receiver.url, "secret": SECRET},
        "subscriptions": ["stock", "prices", "listings"],
        "mapping": {"title": "{{ brand }} {{ name }}", "locale": "nl_NL"},
    }


def test_connections_jobs_log_reconcile_and_metrics(world: Database, receiver: Receiver) -> None:
    api = _api(world)
    created = api.post("/api/v1/connections", json=_connection(receiver))
    assert created.status_code == 200, created.text
    assert SECRET not in created.text and created.json()["config"]["secret"] == "**********"
    assert SECRET not in api.get("/api/v1/connections").text
    assert api.get("/api/v1/connections/nope").status_code == 404
    bad = {**_connection(receiver), "config": {"url": "ftp://x", "secret": "short"}}
    refused = api.post("/api/v1/connections", json=bad)
    assert refused.status_code == 422
    assert {e["location"] for e in refused.json()["errors"]} == {"config.url", "config.secret"}
    update = {**_connection(receiver), "config": {"url": receiver.url}}  # secret kept
    assert api.post("/api/v1/connections", json=update).status_code == 200

    tested = api.post("/api/v1/connections/web-hook/test").json()
    assert tested["ok"] is True, tested
    preview = api.get("/api/v1/connections/web-hook/preview/MUG-1").json()
    assert preview["title"] == "Hearth Mok"
    assert api.get("/api/v1/connections/web-hook/preview/NOPE").status_code == 404

    stock(world, "wh", MUG_1=5)
    drain(world)
    assert receiver.state.stock["MUG-1"] == 5
    done = api.get("/api/v1/sync/jobs", params={"connection": "web-hook", "kind": "stock"}).json()
    assert [j["state"] for j in done] == ["done"]
    log = api.get("/api/v1/sync/messages", params={"key": "MUG-1"}).json()
    assert log and all(SECRET not in json.dumps(m) for m in log)

    receiver.state.stock["MUG-1"] = 99  # someone changed it on the channel
    report = api.post("/api/v1/connections/web-hook/reconcile").json()
    assert report["drift"] == [{"kind": "stock", "sku": "MUG-1", "hub": "5", "channel": "99"}]
    assert report["corrections"] == 1
    drain(world)
    assert receiver.state.stock["MUG-1"] == 5

    assert api.post("/api/v1/sync/jobs/999999/replay").status_code == 404
    assert api.post("/api/v1/sync/replay", json={}).json() == {"replayed": 0}
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert 'channelhub_sync_oldest_job_age_seconds{connection="web-hook"}' in metrics.text
    assert 'channelhub_sync_dead_jobs{connection="web-hook"} 0.0' in metrics.text


def test_routes_need_a_key_except_webhooks(world: Database) -> None:
    bare = TestClient(create_app(world))
    assert bare.get("/api/v1/connections").status_code == 401
    assert bare.get("/api/v1/sync/jobs").status_code == 401
    assert bare.get("/metrics").status_code == 401  # issue 21: not open to anyone
    assert bare.post("/api/v1/webhooks/none", content=b"x").status_code == 404


@pytest.fixture
def cli(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    return CliRunner()


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_readme_commands(
    cli: CliRunner, sqlite_db: Database, receiver: Receiver, tmp_path: object
) -> None:
    from tests.inventory.factories import make_world

    make_world(sqlite_db)
    save(sqlite_db, mug("MUG-1"))
    out = run(
        cli,
        "connection",
        "add",
        "web-hook",
        "--platform",
        "webhook",
        "--channel",
        "web",
        "--config",
        f"url={receiver.url}",
        "--config",
        f"secret={SECRET}",
        "--subscribe",
        "stock",
        "--subscribe",
        "prices",
    )
    assert "web-hook" in out
    listing = run(cli, "connection", "list")
    assert "web-hook" in listing and SECRET not in listing
    assert "ok" in run(cli, "connection", "test", "web-hook")
    assert '"title": "Mug"' in run(cli, "connection", "preview", "web-hook", "MUG-1")
    stock(sqlite_db, "wh", MUG_1=3)
    drain(sqlite_db)
    assert receiver.state.stock["MUG-1"] == 3
    assert "done" in run(cli, "sync", "jobs", "--connection", "web-hook")
    assert "MUG-1" not in run(cli, "sync", "jobs", "--state", "dead")
    assert "MUG-1" in run(cli, "sync", "log", "--key", "MUG-1")
    assert "drift 0" in run(cli, "sync", "reconcile", "web-hook")
    assert "replayed 0" in run(cli, "sync", "replay", "--all")
    refused = cli.invoke(cli_app, ["sync", "replay"])
    assert refused.exit_code == 2
