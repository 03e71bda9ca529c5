"""Running beyond one process: ``channelhub serve --workers N`` (several API processes on one
port), readiness that checks the database and its schema, and a worker that stops gracefully
on SIGTERM (finishes the call in flight, or hands its jobs to the others at once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from channelhub.api.app import create_app
from channelhub.core.database import Database, utcnow
from channelhub.inventory.service import ChangeKind, StockChange, change_stock
from channelhub.sandbox.server import free_port
from channelhub.sync.store import jobs
from tests.sync.conftest import Receiver, connect

CHANNELHUB = str(Path(sys.executable).with_name("channelhub"))
_LOGS: dict[int, Path] = {}  # worker pid -> the file its output goes to


def _env(db: Database) -> dict[str, str]:
    return {
        **os.environ,
        "CHANNELHUB_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "CHANNELHUB_SECRET_KEY": "test-secret-key",
    }


def _wait(predicate: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_readiness_checks_the_database_and_its_schema(db: Database, tmp_path: Path) -> None:
    answer = TestClient(create_app(db)).get("/api/v1/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json()["schema"] == "current"
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    answer = TestClient(create_app(empty)).get("/api/v1/ready")
    assert answer.status_code == 503
    assert "channelhub db upgrade" in answer.json()["detail"]
    away = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    answer = TestClient(create_app(away)).get("/api/v1/ready")
    assert answer.status_code == 503
    assert "does not answer" in answer.json()["detail"]


def test_serve_runs_several_api_processes_and_stops_on_sigterm(
    db: Database, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads until the end
        server = subprocess.Popen(
            [CHANNELHUB, "serve", "--workers", "2", "--port", str(port)],
            env=_env(db),
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/ready").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        # two processes importing the whole app on a loaded 2-core machine: give them time
        was_ready = _wait(ready, timeout=240)
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health") if was_ready else None
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    output = log.read_text(errors="replace")
    assert was_ready, output
    assert health is not None and health.json()["status"] == "ok"
    assert server.returncode == 0, output
    assert output.count("Started server process") == 2, output


def _worker(db: Database, *args: str) -> subprocess.Popen[bytes]:
    log = Path(tempfile.mkstemp(suffix=".log")[1])
    with log.open("wb") as out:  # a file, not a pipe nobody reads until the end
        worker = subprocess.Popen(
            [CHANNELHUB, "worker", "--no-background", *args],
            env=_env(db),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _LOGS[worker.pid] = log
    return worker


def _stop(worker: subprocess.Popen[bytes]) -> str:
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    output = _LOGS.pop(worker.pid).read_text(errors="replace")
    assert worker.returncode == 0, output
    return output


def test_a_stopping_worker_finishes_the_call_in_flight(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    receiver.state.faults.timeout_seconds = 1.5
    receiver.state.faults.timeout_rate = 1.0  # every call takes 1.5 s
    worker = _worker(world)
    change_stock(world, ChangeKind.RECEIPT, [StockChange("MUG-1", "wh", 5)], "test")
    assert _wait(lambda: receiver.state.requests >= 1)
    _stop(worker)  # while the call is in flight
    assert receiver.state.stock.get("MUG-1") == 5
    with world.read() as conn:
        assert set(conn.execute(select(jobs.c.state)).scalars()) == {"done"}


def test_a_worker_stopped_mid_call_hands_its_jobs_over_at_once(
    world: Database, receiver: Receiver
) -> None:
    connect(world, receiver)
    receiver.state.faults.timeout_seconds = 2.5
    receiver.state.faults.timeout_rate = 1.0
    worker = _worker(world, "--grace-seconds", "0.2")
    change_stock(world, ChangeKind.RECEIPT, [StockChange("MUG-1", "wh", 5)], "test")
    assert _wait(lambda: receiver.state.requests >= 1)
    _stop(worker)  # gives up the call after 0.2 s
    with world.read() as conn:
        job = conn.execute(select(jobs)).one()
    # not left for the lease (30 s) to run out: any worker takes it back on its next round
    assert job.state == "processing"
    assert job.lease_until < utcnow()
    receiver.state.faults.clear()
    second = _worker(world)

    def delivered() -> bool:
        with world.read() as conn:
            return bool(conn.execute(select(jobs.c.state)).scalar_one() == "done")

    try:
        assert _wait(delivered)
    finally:
        _stop(second)
    assert receiver.state.stock.get("MUG-1") == 5
