"""API fixtures: the app over the ``db`` fixture (SQLite and PostgreSQL), keys and a client.

``app`` is seeded with the sample retailer's catalog (locales, four channels with presets,
attributes, families, categories, models with variants), so requests reach real code paths.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.core.database import Database
from channelhub.demo.load import load_sample_catalog


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def db_kind(db: Database) -> str:
    return "sqlite" if db.is_sqlite else "postgresql"


@pytest.fixture
def admin_token(db: Database) -> str:
    _key, token = create_key(db, "test-admin", ["admin"])
    return token


@pytest.fixture
def read_token(db: Database) -> str:
    _key, token = create_key(db, "test-reader", ["read"])
    return token


@pytest.fixture
def write_token(db: Database) -> str:
    _key, token = create_key(db, "test-writer", ["write"])
    return token


@pytest.fixture
def bare_app(db: Database) -> FastAPI:
    """The API over an empty (migrated) database."""
    return create_app(db)


@pytest.fixture
def app(db: Database) -> FastAPI:
    """The API over the sample catalog."""
    load_sample_catalog(db)
    return create_app(db)


@pytest.fixture
def client(app: FastAPI, admin_token: str) -> Iterator[TestClient]:
    """A client that sends the admin key with every request; 5xx come back as responses."""
    with TestClient(app, headers=auth(admin_token), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
