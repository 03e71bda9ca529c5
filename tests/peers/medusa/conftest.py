"""Fixtures for the tests against a real Medusa v2 server.

They run only where ``CHANNELHUB_MEDUSA_URL`` names a running server (``make test-peers`` starts
one from npm and sets it, with ``CHANNELHUB_MEDUSA_EMAIL`` and ``CHANNELHUB_MEDUSA_PASSWORD``);
elsewhere, ``make test`` included, they are skipped with that reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from channelhub.core.settings import get_settings

from .storefront import Store, admin_client, seed

URL = os.environ.get("CHANNELHUB_MEDUSA_URL")
pytestmark = pytest.mark.skipif(
    not URL, reason="no real Medusa server: run `make test-peers` (sets CHANNELHUB_MEDUSA_URL)"
)


@dataclass(frozen=True)
class Medusa:
    url: str
    email: str
    password: str
    store: Store


@pytest.fixture(scope="session")
def medusa() -> Medusa:
    if not URL:
        pytest.skip("no real Medusa server: run `make test-peers` (sets CHANNELHUB_MEDUSA_URL)")
    email = os.environ.get("CHANNELHUB_MEDUSA_EMAIL", "admin@channelhub.test")
    password = os.environ.get("CHANNELHUB_MEDUSA_PASSWORD", "")
    with admin_client(URL, email, password) as admin:
        store = seed(admin)
    return Medusa(URL, email, password, store)


@pytest.fixture(autouse=True)
def engine_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_BASE", "0.2")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_CAP", "1")
    monkeypatch.setenv("CHANNELHUB_SYNC_MAX_ATTEMPTS", "8")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
