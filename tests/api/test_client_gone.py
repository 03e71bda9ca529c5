"""A client that goes away mid-request is no error of the hub's: answered 499, not logged as
an ERROR (the live demo counted such a line as an unplanned problem)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect

from channelhub.api.app import create_app
from channelhub.core.database import Database


def test_a_client_gone_mid_request_is_not_logged_as_an_error(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(sqlite_db)

    @app.post("/test/gone")
    def gone() -> None:
        raise ClientDisconnect

    caplog.set_level(logging.INFO)
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.post("/test/gone", content=b"{}")
    assert response.status_code == 499
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("client went away" in r.getMessage() for r in caplog.records)
