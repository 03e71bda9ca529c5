"""The /customers routes and the ``channelhub customers`` commands, end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.cli.main import app as cli_app
from channelhub.core.database import Database


def _client(db: Database, scopes: list[str]) -> TestClient:
    _, token = create_key(db, f"key-{'-'.join(scopes)}", scopes)
    return TestClient(
        create_app(db),
        headers={"Authorization": f"Bearer {token}"},
        raise_server_exceptions=False,
    )


@pytest.fixture
def api(db: Database) -> Iterator[TestClient]:
    with _client(db, ["admin"]) as client:
        yield client


def post_record(api: TestClient, **body: object) -> dict[str, object]:
    response = api.post("/api/v1/customers/records", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_api_resolves_searches_unmerges_and_erases(api: TestClient, db: Database) -> None:
    a = post_record(
        api,
        channel="web",
        source_ref="c1",
        email="ann@shop.nl",
        first_name="Ann",
        last_name="Visser",
    )
    b = post_record(api, channel="pos", source_ref="card-1", loyalty_card="77", first_name="Anne")
    bridge = post_record(
        api, channel="app", source_ref="d1", email="ANN@shop.nl", loyalty_card="77"
    )
    assert bridge["profile_id"] == a["profile_id"] and bridge["merged"] == [b["profile_id"]]

    found = api.get("/api/v1/customers", params={"q": "ann@shop.nl"}).json()
    assert [p["id"] for p in found] == [a["profile_id"]]
    assert api.get("/api/v1/customers", params={"q": "visser"}).json()[0]["id"] == a["profile_id"]

    profile = api.get(f"/api/v1/customers/{b['profile_id']}").json()
    assert profile["id"] == a["profile_id"] and profile["redirected"] is True
    assert profile["golden"]["email"]["source"]["channel"] in ("web", "app")

    log = api.get(f"/api/v1/customers/{a['profile_id']}/merge-log").json()
    merge = next(e for e in log if e["merged_profile_id"] == b["profile_id"])
    undone = api.post(f"/api/v1/customers/links/{merge['id']}/unmerge")
    assert undone.json() == {"profiles": [a["profile_id"], b["profile_id"]]}
    again = api.post(f"/api/v1/customers/links/{merge['id']}/unmerge")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")

    merged = api.post(
        "/api/v1/customers/merge",
        json={"profile_a": b["profile_id"], "profile_b": a["profile_id"]},
    )
    assert merged.json()["id"] == a["profile_id"]

    exported = api.get(f"/api/v1/customers/{a['profile_id']}/export").json()
    assert exported["profile"]["id"] == a["profile_id"]
    erased = api.post(f"/api/v1/customers/{a['profile_id']}/erase").json()
    assert erased["records"] == 3
    assert api.get(f"/api/v1/customers/{a['profile_id']}").json()["identifiers"] == []
    assert [e["action"] for e in api.get("/api/v1/customers/audit").json()] == ["erase", "export"]

    assert api.get("/api/v1/customers/999").status_code == 404
    bad = api.post("/api/v1/customers/records", json={"channel": "web", "source_ref": ""})
    assert bad.status_code == 422


def test_api_rules_suggestions_and_scopes(api: TestClient, db: Database) -> None:
    rules = api.put(
        "/api/v1/customers/rules", json={"upper_threshold": 0.99, "lower_threshold": 0.6}
    )
    assert rules.status_code == 200 and rules.json()["upper_threshold"] == 0.99
    assert api.put("/api/v1/customers/rules", json={"strong_kinds": ["x"]}).status_code == 422
    address = {"line1": "Kerkstraat 1", "postal_code": "3511 AB", "city": "Utrecht"}
    post_record(
        api,
        channel="web",
        source_ref="c1",
        first_name="Ann",
        last_name="Visser",
        birth_date="1980-03-12",
        address=address,
    )
    second = post_record(
        api,
        channel="pos",
        source_ref="p1",
        first_name="Anne",
        last_name="Viser",
        birth_date="1980-03-12",
        address={**address, "line1": "Kerkstr 1"},
    )
    (pending,) = api.get("/api/v1/customers/suggestions").json()
    assert pending["id"] == second["suggestions"][0]
    confirmed = api.post(f"/api/v1/customers/suggestions/{pending['id']}/confirm").json()
    assert confirmed["status"] == "confirmed"
    assert api.post(f"/api/v1/customers/suggestions/{pending['id']}/reject").status_code == 409
    with _client(db, ["read"]) as reader:
        assert reader.get("/api/v1/customers/rules").status_code == 200
        assert reader.post(f"/api/v1/customers/{second['profile_id']}/erase").status_code == 403
        assert reader.get(f"/api/v1/customers/{second['profile_id']}/export").status_code == 403


def test_cli_imports_shows_and_erases(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    source = tmp_path / "customers.csv"
    source.write_text(
        "channel,source_ref,email,phone,loyalty_card,first_name,last_name,postal_code\n"
        "web,c1,ann@shop.nl,0613572468,,Ann,Visser,3511 AB\n"
        "pos,card-1,,+31 6 13572468,L-1,Ann,Visser,\n"
        "web,c2,bob@shop.nl,,,Bob,Bakker,\n",
        encoding="utf-8",
    )
    imported = json.loads(run("customers", "import", str(source), "--workers", "1"))
    assert imported["records"] == 3 and imported["profiles"] == 2
    assert "ann@shop.nl" in run("customers", "search", "ann@shop.nl")
    shown = json.loads(run("customers", "show", "1"))
    assert [r["channel"] for r in shown["records"]] == ["web", "pos"]
    assert "shares phone +31613572468" in run("customers", "log", "1")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"blocked_values": ["phone:+31613572468"]}), encoding="utf-8")
    assert "+31613572468" in run("customers", "rules", "--set", str(rules))
    assert "erasure cannot be undone" in run("customers", "erase", "1", code=2)
    assert '"records": 2' in run("customers", "erase", "1", "--yes")
    out = tmp_path / "export.json"
    run("customers", "export", "1", "--out", str(out))
    assert json.loads(out.read_text())["profile"]["golden"] == {}
    bad = tmp_path / "bad.csv"
    bad.write_text("channel,source_ref,shoe_size\nweb,c9,42\n", encoding="utf-8")
    assert "unknown field(s) shoe_size" in run("customers", "import", str(bad), code=2)
