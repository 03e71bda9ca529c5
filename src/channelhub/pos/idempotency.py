"""Till requests answered once: a key is claimed before the work and completed with the answer
after it; a replay gets the stored answer, a different body under the same key a Conflict, and
a claim abandoned by a crash is taken over after a lease."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, Problem
from channelhub.pos import store
from channelhub.pos.model import fingerprint

#: How long a claimed request may stay unanswered before a retry takes it over.
CLAIM_LEASE = timedelta(seconds=60)

PENDING = "pending"
DONE = "done"


@dataclass(frozen=True)
class Recorded:
    """A till request's answer; ``replayed`` when it was given before and is repeated."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def _claim(
    db: Database, store_code: str, key: str, kind: str, digest: str
) -> Recorded | tuple[int, bool] | None:
    """Claim the key: the stored answer of a finished request, (row id, taken over) for a
    fresh or an abandoned claim, or None when another request with this key is still at work."""
    p = store.pos_requests.c
    for _attempt in range(3):
        now = utcnow()
        try:
            with db.transaction() as conn:
                row = conn.execute(
                    select(store.pos_requests)
                    .where(p.store == store_code, p.key == key)
                    .with_for_update()
                ).first()
                if row is None:
                    claim = int(
                        conn.execute(
                            insert(store.pos_requests)
                            .values(
                                store=store_code,
                                key=key,
                                kind=kind,
                                fingerprint=digest,
                                state=PENDING,
                                created_at=now,
                                updated_at=now,
                            )
                            .returning(p.id)
                        ).scalar_one()
                    )
                    return claim, False
                if row.kind != kind or row.fingerprint != digest:
                    raise Conflict(
                        f"idempotency key {key!r} was already used at store {store_code} for a "
                        f"different {row.kind}; send a new key for a new {kind}"
                    )
                if row.state == DONE:
                    return Recorded(row.status_code, dict(row.response), replayed=True)
                if row.updated_at > now - CLAIM_LEASE:
                    return None
                conn.execute(
                    update(store.pos_requests).where(p.id == row.id).values(updated_at=now)
                )
                return int(row.id), True
        except IntegrityError:
            continue  # claimed concurrently: read it on the next attempt
    return None


def _finish(db: Database, claim: int, answer: Recorded) -> None:
    p = store.pos_requests.c
    with db.transaction() as conn:
        conn.execute(
            update(store.pos_requests)
            .where(p.id == claim)
            .values(
                state=DONE,
                status_code=answer.status_code,
                response=answer.body,
                updated_at=utcnow(),
            )
        )


def _forget(db: Database, claim: int) -> None:
    with db.transaction() as conn:
        conn.execute(delete(store.pos_requests).where(store.pos_requests.c.id == claim))


def once(
    db: Database,
    store_code: str,
    key: str,
    kind: str,
    body: object,
    act: Callable[[], Recorded],
    recover: Callable[[], Recorded | None] = lambda: None,
) -> Recorded:
    """Run ``act`` once per (store, key): a replay gets the stored answer, a different body
    with the same key a Conflict. A request that failed (nothing was recorded) frees its key;
    one abandoned mid-way (a crash) is taken over, and ``recover`` finds what it did."""
    digest = fingerprint(kind, body)
    claimed = _claim(db, store_code, key, kind, digest)
    if isinstance(claimed, Recorded):
        return claimed
    if claimed is None:
        raise Conflict(
            f"a {kind} with idempotency key {key!r} is still being recorded; retry in a moment"
        )
    claim, taken_over = claimed
    try:
        answer = (recover() if taken_over else None) or act()
    except Exception:
        _forget(db, claim)
        raise
    _finish(db, claim, answer)
    return answer


def check_key(key: str, where: str) -> None:
    if not key or len(key) > 200 or not all(33 <= ord(ch) <= 126 for ch in key):
        raise InvalidInput(
            "the request is not valid",
            [Problem(where, "a key is 1 to 200 printable ASCII characters without spaces")],
        )
