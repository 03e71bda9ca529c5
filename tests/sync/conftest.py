"""Sync fixtures: a secret key, the factory world (catalog, locations, channels web and bol),
receiver sandboxes and webhook connections to them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.receiver import ReceiverState, receiver_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.worker import Worker
from tests.factories import mug, save
from tests.inventory.factories import make_world

SECRET = "receiver-secret-0123456789"


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_BASE", "0.05")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_CAP", "0.5")
    monkeypatch.setenv("CHANNELHUB_SYNC_MAX_ATTEMPTS", "4")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass
class Receiver:
    url: str
    state: ReceiverState


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = ReceiverState(secret=SECRET, faults=Faults(seed=7, timeout_seconds=2.0))
    with serve_in_thread(receiver_app(state)) as url:
        yield Receiver(url, state)


@pytest.fixture
def world(db: Database) -> Database:
    make_world(db)
    save(db, mug("MUG-1"), mug("MUG-2"), mug("MUG-3"))
    return db


def connect(
    db: Database,
    receiver: Receiver,
    code: str = "web-hook",
    channel: str = "web",
    kinds: tuple[JobKind, ...] = (JobKind.STOCK, JobKind.PRICES),
) -> None:
    save_connection(
        db,
        ConnectionInput(
            code=code,
            platform="webhook",
            channel=channel,
            config={"url": receiver.url, "secret": SECRET, "timeout_seconds": 3},
            subscriptions=kinds,
        ),
    )


def drain(db: Database, timeout: float = 30.0) -> None:
    """Run an in-process worker until the queue is empty."""
    asyncio.run(Worker(db, tick=0.01).run_until_idle(timeout))
