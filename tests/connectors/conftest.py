"""The repeat-delivery mode every engine round trip runs in: each test that takes
``deliveries`` runs once with ordinary delivery and once with every job sent to its platform
twice in a row (``CHANNELHUB_SYNC_DELIVER_TWICE``), as after a timeout whose request landed.
The platform must end up as after one delivery, and nothing may be dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.sync.model import JobState
from channelhub.sync.store import jobs


def fast_engine(monkeypatch: pytest.MonkeyPatch, max_attempts: int) -> None:
    """Engine settings for a round trip: a secret key, short backoffs, ``max_attempts`` tries."""
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_BASE", "0.05")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_CAP", "0.5")
    monkeypatch.setenv("CHANNELHUB_SYNC_MAX_ATTEMPTS", str(max_attempts))
    get_settings.cache_clear()


@pytest.fixture(params=["once", "twice"])
def deliveries(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """How many times each job is sent: "once", or "twice" (the repeat-delivery mode)."""
    monkeypatch.setenv("CHANNELHUB_SYNC_DELIVER_TWICE", "1" if request.param == "twice" else "0")
    get_settings.cache_clear()
    yield str(request.param)
    get_settings.cache_clear()


def dead_letters(db: Database) -> list[tuple[str, str, str | None]]:
    """(kind, key, error) of every dead job: a round trip must leave none."""
    with db.read() as conn:
        return [
            (row.kind, row.key, row.last_error)
            for row in conn.execute(
                select(jobs.c.kind, jobs.c.key, jobs.c.last_error).where(
                    jobs.c.state == JobState.DEAD.value
                )
            )
        ]
