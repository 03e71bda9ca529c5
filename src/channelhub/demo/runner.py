"""Run the live demo in one process: the hub (API and web admin), its sync worker, sandbox
channels (Shopify webshop, bol.com, Amazon) and the traffic of shoppers and store tills.

``run_demo`` starts everything, lets the traffic run for ``duration`` seconds (0: until
Ctrl-C), then stops it all in reverse order: traffic joined, worker drained and joined,
servers shut down. It returns what happened, for the console and for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from channelhub.apikeys import service as apikeys
from channelhub.background import run_background
from channelhub.core.database import Database
from channelhub.demo.traffic import Traffic
from channelhub.sandbox.amazon import AmazonState
from channelhub.sandbox.amazon import create_app as amazon_app
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.server import free_port, serve_in_thread
from channelhub.sandbox.shopify import ShopifyState
from channelhub.sandbox.shopify import create_app as shopify_app
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.operations import push_everything
from channelhub.sync.worker import Worker


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int | None = None  # None: any free port
    duration: float = 0.0  # seconds of traffic; 0 runs until Ctrl-C
    pace: float = 3.0  # random orders per second, over all channels
    seed: int = 7
    script_every: float = 90.0  # the narrated events run again after this many seconds
    rounds: int = 0  # stop after this many rounds of the narrated events; 0: no such limit
    settle: float = 0.0  # seconds the worker may take to catch up once the traffic stops


@dataclass(frozen=True)
class Happening:
    """One narrated event: what, a sentence for people, and the facts a test can check."""

    kind: str
    message: str
    facts: dict[str, Any]


@dataclass
class Narrator:
    """Prints narrated events with the time since the start, and keeps them."""

    out: Callable[[str], None] = print
    started: float = field(default_factory=time.monotonic)
    happenings: list[Happening] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def say(self, kind: str, message: str, **facts: Any) -> None:
        with self.lock:
            self.happenings.append(Happening(kind, message, facts))
            self.out(f"[{time.monotonic() - self.started:7.1f}s] {message}")

    def of_kind(self, kind: str) -> list[Happening]:
        with self.lock:
            return [h for h in self.happenings if h.kind == kind]


@dataclass
class Sandboxes:
    shopify: ShopifyState
    bol: BolState
    amazon: AmazonState
    urls: dict[str, str] = field(default_factory=dict)


@dataclass
class DemoReport:
    hub_url: str
    sandboxes: Sandboxes
    narrator: Narrator
    orders_sent: dict[str, int]
    worker_error: BaseException | None = None
    threads_left: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    worker_failures: list[str] = field(default_factory=list)  # each one cost a restart


def _fresh_ids(state: Any, *names: str) -> None:
    """Start a sandbox's id counters past those of earlier runs on the same database: a
    restarted demo must not hand out an order id the hub imported before. Ids advance by 50
    a wall-clock second, faster than the demo uses them; they wrap after about 28 hours."""
    start = (int(time.time()) % 100_000) * 50 + 1
    for name in names:
        setattr(state, name, itertools.count(start))


def make_sandboxes() -> Sandboxes:
    shopify = ShopifyState()
    _fresh_ids(shopify, "_ids", "_order_numbers")
    bol = BolState(process_delay=0.05)
    _fresh_ids(bol, "_ids")
    amazon = AmazonState(feed_delay=0.05)
    _fresh_ids(amazon, "_ids")
    return Sandboxes(shopify, bol, amazon)


def connect_channels(db: Database, boxes: Sandboxes) -> None:
    """Connect (or reconnect, with the new sandbox addresses) the webshop, bol.com and Amazon,
    and queue every listing, stock level and price for the fresh sandboxes."""
    shop, bol, amazon = boxes.shopify, boxes.bol, boxes.amazon
    connections = (
        ConnectionInput(
            code="webshop",
            platform="shopify",
            channel="webshop",
            config={
                "shop": shop.shop,
                "access_token": shop.access_token,
                "client_secret": shop.client_secret,
                "endpoint": boxes.urls["shopify"],
            },
            subscriptions=tuple(JobKind),
        ),
        ConnectionInput(
            code="bol",
            platform="bol",
            channel="bol",
            config={
                "client_id": next(iter(bol.clients)),
                "client_secret": next(iter(bol.clients.values())),
                "api_url": boxes.urls["bol"],
                "login_url": boxes.urls["bol"],
            },
            subscriptions=tuple(JobKind),
            # bol.com allows 25 order lists a minute: a poll every 3 s stays inside it.
            poll_seconds=3,
        ),
        ConnectionInput(
            code="amazon",
            platform="amazon",
            channel="amazon",
            config={
                "seller_id": amazon.seller.seller_id,
                "marketplace_id": amazon.seller.marketplace_id,
                "client_id": amazon.client_id,
                "client_secret": amazon.client_secret,
                "refresh_token": amazon.refresh_token,
                "endpoint": boxes.urls["amazon"],
                "token_url": f"{boxes.urls['amazon']}/auth/o2/token",
                "language_tag": "nl_NL",
            },
            subscriptions=tuple(JobKind),
            # Amazon's getOrders refills one request a minute (burst 20): a poll every 30 s
            # spends the burst in 20 minutes, then the poller waits for Amazon's refills.
            poll_seconds=30,
        ),
    )
    for connection in connections:
        save_connection(db, connection)
        push_everything(db, connection.code)


class WorkerThread:
    """The sync worker and the periodic work (customers, loyalty, rules, holds, analytics) in
    one asyncio loop in a thread, as ``channelhub worker`` runs them; stopped by its event.

    Like a process supervisor, it starts the loop again a second after an exception (each
    failure is kept: the demo's summary counts them as restarts); an exception that is not an
    ``Exception`` (KeyboardInterrupt, SystemExit) ends it for good."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.error: BaseException | None = None
        self.failures: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo:worker", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                asyncio.run(self._main())
                return
            except Exception as error:  # restarted; kept for the summary, not lost in a thread
                self.failures.append(f"{type(error).__name__}: {error}")
                self._stopping.wait(1.0)
            except BaseException as error:  # reported by the runner
                self.error = error
                self._ready.set()
                return

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stopping.is_set():
            return
        self._ready.set()
        await asyncio.gather(Worker(self.db).run(self._stop), run_background(self.db, self._stop))

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        self.thread.join(timeout)


@contextmanager
def serve_hub(db: Database, host: str, port: int) -> Iterator[str]:
    """Serve the hub's API and web admin on ``host:port`` in a thread until the block ends."""
    from channelhub.api.app import create_app

    config = uvicorn.Config(
        create_app(db), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo:hub", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the hub did not start on {host}:{port} (is the port taken?)")
        time.sleep(0.02)
    try:
        yield f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def run_demo(
    db: Database,
    options: DemoOptions,
    narrator: Narrator | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> DemoReport:
    """Start everything, run the traffic for ``options.duration`` seconds (0: until Ctrl-C),
    stop everything cleanly and say what happened. The database must be loaded already."""
    narrator = narrator or Narrator()
    boxes = make_sandboxes()
    stop = threading.Event()
    with ExitStack() as stack:
        _stop_on_signals(stack, stop, narrator)
        for name, app in (
            ("shopify", shopify_app(boxes.shopify)),
            ("bol", bol_app(boxes.bol)),
            ("amazon", amazon_app(boxes.amazon)),
        ):
            boxes.urls[name] = stack.enter_context(serve_in_thread(app))
        hub = stack.enter_context(serve_hub(db, options.host, options.port or free_port()))
        connect_channels(db, boxes)
        worker = WorkerThread(db)
        worker.start()
        stack.callback(worker.stop)
        _key, token = apikeys.create_key(db, "demo-traffic", ["write"])
        traffic = Traffic(db, hub, token, boxes, narrator, options, stop)
        traffic.start()
        stack.callback(traffic.join)
        stack.callback(stop.set)
        if on_ready is not None:
            on_ready(hub)
        _wait(stop, options.duration, narrator)
        traffic.join()
        _settle(db, traffic, options.settle)
    left = [t.name for t in threading.enumerate() if t.name.startswith(("demo:", "sandbox:"))]
    return DemoReport(
        hub,
        boxes,
        narrator,
        dict(traffic.sent),
        worker.error,
        left,
        list(traffic.errors),
        list(worker.failures),
    )


def _settle(db: Database, traffic: Traffic, seconds: float) -> None:
    """After the traffic stops, give the worker up to ``seconds`` to import the last orders
    the channels hold and to finish the queued deliveries, so that a timed run ends with the
    hub and the channels in step (a person's Ctrl-C does not wait: ``seconds`` is 0)."""
    from channelhub.insight.activity import activity_since

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        activity = activity_since(db, traffic.started_at)
        behind = any(activity.orders.get(c, 0) < n for c, n in traffic.sent.items())
        busy = any(
            states.get(state, 0)
            for states in activity.jobs.values()
            for state in ("new", "processing", "waiting", "failed")
        )
        if not behind and not busy:
            return
        time.sleep(0.5)


def _stop_on_signals(stack: ExitStack, stop: threading.Event, narrator: Narrator) -> None:
    """Ctrl-C (SIGINT) or SIGTERM sets ``stop``: the demo then winds down in order, and a
    second signal during the shutdown does not cut it short. Only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(number: int, _frame: object) -> None:
        if not stop.is_set():
            narrator.out(f"stopping ({signal.Signals(number).name}): joining every thread")
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(number)
        signal.signal(number, handle)
        stack.callback(signal.signal, number, previous)


def _wait(stop: threading.Event, duration: float, narrator: Narrator) -> None:
    deadline = time.monotonic() + duration if duration > 0 else None
    try:
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            stop.wait(0.2)
    except KeyboardInterrupt:
        narrator.out("stopping: Ctrl-C")
    stop.set()
