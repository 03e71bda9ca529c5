"""Automation fixtures: the factory world, a secret key, and a recording HTTP receiver that
checks each request's timestamped signature and can fail the first requests on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelhub.automation import worker
from channelhub.connectors.webhook import verify_timestamped
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.sandbox.server import serve_in_thread
from tests.factories import mug, save
from tests.inventory.factories import make_world

HOOK_SECRET = "hook-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("CHANNELHUB_SYNC_BACKOFF_CAP", "0.05")
    monkeypatch.setenv("CHANNELHUB_SYNC_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(db: Database) -> Database:
    make_world(db)
    save(db, mug("MUG-1"), mug("MUG-2"), mug("MUG-3"))
    return db


@dataclass
class Recorder:
    url: str
    secret: str
    fail_first: int = 0
    status_when_failing: int = 500
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    calls: int = 0


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    state = Recorder(url="", secret=HOOK_SECRET)

    async def receive(request: Request) -> Response:
        body = await request.body()
        state.calls += 1
        if state.calls <= state.fail_first:
            return Response("busy", status_code=state.status_when_failing)
        state.verified.append(verify_timestamped(state.secret, dict(request.headers), body))
        state.headers.append(dict(request.headers))
        state.raw.append(body)
        state.received.append(orjson.loads(body))
        return JSONResponse({"ok": True})

    with serve_in_thread(Starlette(routes=[Route("/", receive, methods=["POST"])])) as url:
        state.url = url + "/"
        yield state


def settle(db: Database, rounds: int = 40) -> None:
    """Run the automation loop until events are handled and deliveries are not due any more
    (retries included)."""

    async def go() -> None:
        for _ in range(rounds):
            report = await worker.step(db, files=False)
            if not report.events and not report.deliveries:
                await asyncio.sleep(0.06)  # let backoffs come due
                report = await worker.step(db, files=False)
                if not report.events and not report.deliveries:
                    return

    asyncio.run(go())
