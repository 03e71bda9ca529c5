"""Shared equipment of the sync benchmark and the sync fault scenario: a scratch database with
a world of channels and SKUs, receiver sandboxes with webhook connections to them, and
``channelhub worker`` subprocesses that can be killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.catalog.products import ProductInput, save_products
from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.core.settings import get_settings
from channelhub.inventory import service as inventory
from channelhub.inventory.model import LocationKind
from channelhub.inventory.service import ChangeKind, ChannelLink, LocationInput, StockChange
from channelhub.pricing import service as pricing
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.receiver import ReceiverState, receiver_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind

RECEIVER_SECRET = "bench-receiver-secret"
ENGINE_ENV = {
    "CHANNELHUB_SECRET_KEY": "bench-secret-key",
    "CHANNELHUB_SYNC_BACKOFF_BASE": "0.2",
    "CHANNELHUB_SYNC_BACKOFF_CAP": "4",
    "CHANNELHUB_SYNC_MAX_ATTEMPTS": "1000",
    "CHANNELHUB_SYNC_LEASE_SECONDS": "5",
}


def use_engine_settings() -> None:
    os.environ.update(ENGINE_ENV)
    get_settings.cache_clear()


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A fresh migrated database: a temporary SQLite file, or a new database on the server."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            target = url or f"sqlite:///{tmp}/sync.db"
            db = Database(target)
            upgrade(db)
            db.dispose()
            yield target
        return
    admin_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"chsync_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        db = Database(target)
        upgrade(db)
        db.dispose()
        yield target
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_world(db: Database, channels: list[str], skus: list[str], on_hand: int = 50) -> None:
    """Channels (integrated, one warehouse), products, stock and a EUR price list each."""
    catalog.add_locale(db, "nl_NL")
    for code in channels:
        catalog.save_channel(
            db,
            catalog.ChannelInput(
                code, code, ChannelKind.WEBSHOP, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"
            ),
        )
    inventory.save_location(db, LocationInput("wh", "Warehouse", LocationKind.WAREHOUSE))
    for code in channels:
        inventory.link_channel(db, code, [ChannelLink("wh")])
        pricing.save_price_list(db, f"{code}_eur", code)
    save_products(db, [ProductInput(sku=s) for s in skus], actor="bench")
    inventory.change_stock(
        db, ChangeKind.RECEIPT, [StockChange(s, "wh", on_hand) for s in skus], "bench"
    )


@dataclass
class Channel:
    code: str
    url: str
    state: ReceiverState


@contextmanager
def receivers(
    db: Database,
    channels: list[str],
    kinds: tuple[JobKind, ...] = (JobKind.STOCK, JobKind.PRICES),
    record_arrivals: bool = False,
    reconcile_seconds: int | None = None,
) -> Iterator[list[Channel]]:
    """A receiver sandbox per channel and a webhook connection to it."""
    with ExitStack() as stack:
        found = []
        for code in channels:
            state = ReceiverState(
                secret=RECEIVER_SECRET,
                faults=Faults(timeout_seconds=4.0),
                record_arrivals=record_arrivals,
            )
            url = stack.enter_context(serve_in_thread(receiver_app(state)))
            save_connection(
                db,
                ConnectionInput(
                    code=f"{code}-hook",
                    platform="webhook",
                    channel=code,
                    config={"url": url, "secret": RECEIVER_SECRET, "timeout_seconds": 2},
                    subscriptions=kinds,
                    reconcile_seconds=reconcile_seconds,
                ),
            )
            found.append(Channel(code, url, state))
        yield found


@dataclass
class Workers:
    """``channelhub worker`` subprocesses over one database."""

    database_url: str
    count: int = 1
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".log")[1]))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _command(self) -> list[str]:
        script = Path(sys.executable).with_name("channelhub")
        if script.exists():
            return [str(script), "worker"]
        return [sys.executable, "-c", "from channelhub.cli.main import app; app()", "worker"]

    def start(self) -> None:
        env = {**os.environ, **ENGINE_ENV, "CHANNELHUB_DATABASE_URL": self.database_url}
        with self.log.open("ab") as out:
            for _ in range(self.count - len(self.processes)):
                self.processes.append(
                    subprocess.Popen(self._command(), env=env, stdout=out, stderr=out)
                )

    def kill(self) -> None:
        """SIGKILL every worker: no chance to finish or record anything."""
        for process in self.processes:
            process.send_signal(signal.SIGKILL)
        for process in self.processes:
            process.wait()
        self.processes.clear()

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_until(predicate: object, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False
