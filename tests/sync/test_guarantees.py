"""The engine's guarantees on both databases: coalescing, order per key, retries with backoff,
dead letters and replay, crash recovery by lease, redaction, SKIP LOCKED claims."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChangeKind, StockChange
from channelhub.pricing import prices
from channelhub.pricing import service as pricing
from channelhub.sync import jobs
from channelhub.sync.connections import load_connection
from channelhub.sync.dispatcher import dispatch_once
from channelhub.sync.jobs import Enqueue, Outcome
from channelhub.sync.messages import search_messages
from channelhub.sync.model import JobKind, JobState
from channelhub.sync.monitor import JobFilter, JobView, list_jobs, replay
from channelhub.sync.store import connections
from channelhub.sync.store import jobs as jobs_table
from channelhub.sync.worker import Worker
from tests.inventory.factories import stock
from tests.sync.conftest import SECRET, Receiver, connect, drain


def _jobs(db: Database, **filters: object) -> list[JobView]:
    return list_jobs(db, JobFilter(**filters), limit=1000)  # type: ignore[arg-type]


def _count(db: Database, sku: str, quantity: int) -> None:
    inventory.change_stock(db, ChangeKind.COUNT, [StockChange(sku, "wh", quantity)], "test")


def test_coalescing_sends_only_the_latest_value(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    for quantity in range(1, 41):
        _count(world, "MUG-1", quantity)
    dispatch_once(world)
    queued = _jobs(world, key="MUG-1")
    assert len(queued) == 1, "forty events of one key make one job per connection"
    drain(world)
    assert receiver.state.stock["MUG-1"] == 40
    assert receiver.state.accepted == 1


def test_a_job_reads_the_value_at_delivery_time(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    _count(world, "MUG-1", 3)
    dispatch_once(world)
    _count(world, "MUG-1", 9)  # changed after the job was made, before it is delivered
    drain(world)
    assert receiver.state.stock["MUG-1"] == 9


def test_one_key_is_never_in_flight_twice(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    stock(world, "wh", MUG_1=1, MUG_2=1)
    dispatch_once(world)
    with world.transaction() as conn:
        first = jobs.claim(conn, 10, 30)
    assert {j.key for j in first} == {"MUG-1", "MUG-2"}
    _count(world, "MUG-1", 5)
    _count(world, "MUG-3", 5)
    dispatch_once(world)
    with world.transaction() as conn:
        second = jobs.claim(conn, 10, 30)
    assert [j.key for j in second] == ["MUG-3"], "MUG-1 waits for its job in flight"
    with world.transaction() as conn:
        jobs.record_outcomes(conn, [Outcome(j.id, JobState.DONE) for j in first])
        third = jobs.claim(conn, 10, 30)
    assert [j.key for j in third] == ["MUG-1"]


def test_failures_retry_with_backoff_then_deliver(
    world: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANNELHUB_SYNC_MAX_ATTEMPTS", "20")
    get_settings.cache_clear()
    connect(world, receiver)
    receiver.state.faults.error_rate = 1.0
    stock(world, "wh", MUG_1=4)

    async def until_four_attempts() -> float:
        """Step a worker until the job failed four times; the time that took."""
        worker = Worker(world, tick=0.01)
        started = time.monotonic()
        while time.monotonic() - started < 120:
            await worker.step()
            (job,) = _jobs(world, key="MUG-1")
            if job.attempts >= 4 and job.state == JobState.FAILED:
                break
            await asyncio.sleep(0.005)
        return time.monotonic() - started

    took = asyncio.run(until_four_attempts())
    (job,) = _jobs(world, key="MUG-1")
    assert job.state == JobState.FAILED and job.attempts >= 4
    # Backoff from 0.05 s doubling, each wait at least half its ceiling: four attempts cannot
    # come sooner than 0.025 + 0.05 + 0.1 s (a 5 ms loop without backoff would need 15 ms).
    # A busy machine only makes it later, so this holds under any load.
    assert took >= 0.175
    assert "500" in (job.last_error or "")
    receiver.state.faults.clear()
    drain(world)
    (job,) = _jobs(world, key="MUG-1")
    assert (job.state, receiver.state.stock["MUG-1"]) == (JobState.DONE, 4)


def test_retry_after_slows_the_connection(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    receiver.state.faults.throttle_rate = 1.0  # 429 with Retry-After: 1
    stock(world, "wh", MUG_1=4)
    started = time.monotonic()

    async def until_throttled() -> None:
        worker = Worker(world, tick=0.01)
        while receiver.state.faults_served < 1:
            await worker.step()
            await asyncio.sleep(0.01)
        receiver.state.faults.clear()
        await worker.run_until_idle(10)
        await worker.close()

    asyncio.run(until_throttled())
    assert time.monotonic() - started >= 1.0, "the retry waited for Retry-After"
    assert receiver.state.stock["MUG-1"] == 4


def test_a_refused_delivery_is_dead_and_replay_sends_the_truth(
    world: Database, receiver: Receiver
) -> None:
    connect(world, receiver)
    receiver.state.secret = "another-secret-entirely"  # the receiver answers 401: permanent
    stock(world, "wh", MUG_1=2)
    drain(world)
    (job,) = _jobs(world, key="MUG-1")
    assert (job.state, job.attempts) == (JobState.DEAD, 1)
    assert "MUG-1" not in receiver.state.stock
    receiver.state.secret = SECRET  # the credentials are fixed
    assert replay(world, filters=JobFilter(connection="web-hook")) == 1
    assert replay(world, filters=JobFilter(connection="web-hook")) == 0, "replayed once"
    drain(world)
    assert receiver.state.stock["MUG-1"] == 2
    states = sorted(j.state for j in _jobs(world, key="MUG-1"))
    assert states == [JobState.DONE, JobState.SKIPPED], "the dead letter handed over"


def test_dead_after_the_last_attempt(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    receiver.state.faults.error_rate = 1.0
    stock(world, "wh", MUG_1=2)
    drain(world)
    (job,) = _jobs(world, key="MUG-1")
    assert (job.state, job.attempts) == (JobState.DEAD, 4)
    receiver.state.faults.clear()
    with pytest.raises(Exception, match="not a dead letter"):
        replay(world, job_id=job.id + 1000)
    assert replay(world, job_id=job.id) == 1
    drain(world)
    assert receiver.state.stock["MUG-1"] == 2


def test_a_crashed_claim_is_taken_again_after_its_lease(
    world: Database, receiver: Receiver
) -> None:
    connect(world, receiver)
    stock(world, "wh", MUG_1=3)
    dispatch_once(world)
    with world.transaction() as conn:
        (lost,) = jobs.claim(conn, 10, lease_seconds=0.05)  # then the worker "dies"
    with world.transaction() as conn:
        assert jobs.claim(conn, 10, 30) == []
    time.sleep(0.1)
    drain(world)
    assert receiver.state.stock["MUG-1"] == 3
    (job,) = _jobs(world, key="MUG-1")
    assert job.id == lost.id and job.state == JobState.DONE and job.attempts == 2


def test_prices_follow_the_resolution(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    pricing.save_price_list(world, "web_eur", "web")
    pricing.save_price_list(world, "bol_eur", "bol")
    prices.save_prices(world, [prices.PriceInput("MUG-1", "9.95")], "web_eur")
    prices.save_prices(world, [prices.PriceInput("MUG-2", "5.00")], "bol_eur")  # not web's
    drain(world)
    assert receiver.state.prices == {"MUG-1": "9.95"}


def test_the_log_keeps_calls_with_secrets_redacted(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    stock(world, "wh", MUG_1=3)
    drain(world)
    (entry,) = search_messages(world, connection="web-hook", key="MUG-1")
    assert entry.status == "200" and entry.direction == "out" and entry.attempt == 1
    assert entry.request_body is not None and '"MUG-1"' in entry.request_body
    assert "x-channelhub-signature: **********" in entry.request_body
    with world.read() as conn:
        stored = conn.execute(select(connections.c.secrets, connections.c.config)).one()
    assert SECRET not in str(stored.secrets) and SECRET not in str(stored.config)
    assert load_connection(world, "web-hook").secret_values == (SECRET,)
    everything = search_messages(world, limit=500)
    assert all(SECRET not in str(vars(m)) for m in everything)


def test_skip_locked_claims_are_disjoint(world: Database, receiver: Receiver) -> None:
    if world.is_sqlite:
        pytest.skip("SQLite runs one worker; its writes are serialized by BEGIN IMMEDIATE")
    connect(world, receiver)
    stock(world, "wh", MUG_1=1, MUG_2=1, MUG_3=1)
    dispatch_once(world)
    with world.transaction() as first:
        a = jobs.claim(first, 2, 30)
        with world.transaction() as second:
            b = jobs.claim(second, 10, 30)
    assert len(a) == 2 and len(b) == 1
    assert not {j.id for j in a} & {j.id for j in b}


def test_enqueue_folds_force_and_events(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    record = load_connection(world, "web-hook")
    with world.transaction() as conn:
        jobs.enqueue(conn, [Enqueue(record.id, JobKind.STOCK, "MUG-1", 1)])
        jobs.enqueue(conn, [Enqueue(record.id, JobKind.STOCK, "MUG-1", 2, force=True)])
        jobs.enqueue(conn, [Enqueue(record.id, JobKind.STOCK, "MUG-1", 3)])
        rows = conn.execute(select(jobs_table.c.event_id, jobs_table.c.force)).all()
    assert [(r.event_id, bool(r.force)) for r in rows] == [(3, True)]


def test_a_commit_wakes_the_worker_at_once(world: Database, receiver: Receiver) -> None:
    """LISTEN/NOTIFY on PostgreSQL; on SQLite the loop's cheap look at the outbox (no sleep
    of a whole tick either way: the tick here is five seconds)."""
    connect(world, receiver)

    async def scenario() -> float:
        stop = asyncio.Event()
        worker = Worker(world, tick=0.05 if world.is_sqlite else 5.0)
        task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(1.5)  # listening, idle
        started = time.monotonic()
        await asyncio.to_thread(stock, world, "wh", MUG_1=8)
        while receiver.state.stock.get("MUG-1") != 8 and time.monotonic() - started < 10:
            await asyncio.sleep(0.01)
        took = time.monotonic() - started
        stop.set()
        await task
        return took

    assert asyncio.run(scenario()) < 1.0


def test_a_connection_added_later_gets_everything_with_push(
    world: Database, receiver: Receiver
) -> None:
    from channelhub.inventory.service import available
    from channelhub.sync.operations import push_everything
    from tests.inventory.factories import stock as receive

    receive(world, "wh", MUG_1=4, MUG_2=2)
    drain(world)  # the dispatcher moves past these events: nobody was connected yet
    connect(world, receiver, kinds=(JobKind.STOCK,))
    drain(world)
    assert receiver.state.stock == {}
    assert push_everything(world, "web-hook") == 3
    drain(world)
    assert receiver.state.stock == available(world, "web", ["MUG-1", "MUG-2", "MUG-3"])
