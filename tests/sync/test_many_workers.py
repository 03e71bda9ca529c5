"""Issue 21 finding 2: several workers on one database queue, claim, fail, requeue and recover
the same jobs at once, each with its own connections, and none dies (no IntegrityError on the
open-job key, no deadlock left unretried). Every key ends delivered."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from channelhub.core.database import Database, utcnow
from channelhub.sync import jobs
from channelhub.sync.jobs import Enqueue, Outcome
from channelhub.sync.model import JobKind, JobState
from channelhub.sync.store import jobs as jobs_table
from tests.sync.conftest import Receiver, connect

KEYS = [f"SKU-{n}" for n in range(12)]
ROUNDS = 60


def _connection_id(db: Database) -> int:
    from channelhub.sync.store import connections

    with db.read() as conn:
        return int(conn.execute(select(connections.c.id)).scalar_one())


def _work(url: str, connection_id: int, seed: int, errors: list[BaseException]) -> None:
    """One worker: queue events for every key (in a shuffled order, as events come), claim,
    fail some and deliver the rest, and take back what looks abandoned."""
    db = Database(url)
    rng = random.Random(seed)
    try:
        for round_ in range(ROUNDS):
            keys = rng.sample(KEYS, len(KEYS))
            db.retrying(
                lambda conn, keys=keys: jobs.enqueue(
                    conn, [Enqueue(connection_id, JobKind.STOCK, k) for k in keys]
                )
            )
            claimed = db.retrying(lambda conn: jobs.claim(conn, 8, 30.0))
            outcomes = []
            for job in claimed:
                if rng.random() < 0.5 and round_ < ROUNDS - 10:
                    outcomes.append(Outcome(job.id, JobState.FAILED, "502", utcnow()))
                else:
                    outcomes.append(Outcome(job.id, JobState.DONE))
            rng.shuffle(outcomes)
            db.retrying(lambda conn, outcomes=outcomes: jobs.record_outcomes(conn, outcomes))
            if rng.random() < 0.2:  # a worker that died: its lease runs out, another recovers
                db.retrying(lambda conn: _expire_some(conn, rng))
                db.retrying(jobs.recover_expired)
    except BaseException as error:  # what killed the worker is the result
        errors.append(error)
    finally:
        db.dispose()


def _expire_some(conn: object, rng: random.Random) -> None:
    conn.execute(  # type: ignore[attr-defined]
        update(jobs_table)
        .where(jobs_table.c.state == JobState.PROCESSING.value)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )


def test_workers_sharing_the_same_jobs_never_die(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    connection_id = _connection_id(world)
    url = world.engine.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_work, args=(url, connection_id, seed, errors))
        for seed in range(4 if world.is_sqlite else 6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # whatever is left is delivered by one more pass; every key ends done, none twice open
    finish = Database(url)
    for _ in range(50):
        claimed = finish.retrying(lambda conn: jobs.claim(conn, 100, 30.0))
        if not claimed:
            break
        finish.retrying(
            lambda conn, claimed=claimed: jobs.record_outcomes(
                conn, [Outcome(j.id, JobState.DONE) for j in claimed]
            )
        )
    finish.dispose()
    with world.read() as conn:
        unfinished = conn.execute(
            select(func.count())
            .select_from(jobs_table)
            .where(jobs_table.c.state.in_(["new", "failed", "processing"]))
        ).scalar_one()
        delivered = set(
            conn.execute(
                select(jobs_table.c.key).where(jobs_table.c.state == JobState.DONE.value)
            ).scalars()
        )
    assert unfinished == 0
    assert delivered == set(KEYS)
