"""Probabilistic suggestions: "possible same customer" pairs scored by name, address and birth
date. At or above the upper threshold the pair is linked at once (a ``probabilistic`` link,
undoable like any other); between the thresholds it waits for a person to confirm (then it is
linked like a deterministic merge) or reject it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from channelhub.core.database import utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.customers import store
from channelhub.customers._sql import Sql
from channelhub.customers.merging import link_records
from channelhub.customers.model import MergeRules
from channelhub.customers.similarity import MatchFields, score_pair

S = store.customer_match_suggestions.c
R = store.customer_records.c

#: At most this many records of one block are compared with a new record.
MAX_CANDIDATES = 200
STATUSES = ("pending", "linked", "confirmed", "rejected")


@dataclass(frozen=True)
class Suggestion:
    id: int
    record_a: int
    record_b: int
    profile_a: int
    profile_b: int
    score: float
    details: dict[str, Any]
    status: str
    link_id: int | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record_a": self.record_a,
            "record_b": self.record_b,
            "profile_a": self.profile_a,
            "profile_b": self.profile_b,
            "score": self.score,
            "details": self.details,
            "status": self.status,
            "link_id": self.link_id,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "created_at": self.created_at.isoformat(),
        }


def suggest_for_record(conn: Connection, record_id: int, rules: MergeRules) -> list[int]:
    """Score ``record_id`` against the records of other profiles sharing its postcode or birth
    date; store a suggestion for each profile scoring at least the lower threshold (linking at
    once above the upper one). The new suggestions' ids."""
    sql = Sql(conn)
    row = sql.first(
        "SELECT profile_id, attributes, block_postcode, block_birth "
        "FROM customer_records WHERE id = ?",
        (record_id,),
    )
    if row is None:
        raise NotFound(f"customer record {record_id} does not exist")
    profile_id, attributes, postcode, birth = row
    me = MatchFields.of(sql.read_json(attributes))
    candidates = sql.rows(
        "SELECT id, profile_id, attributes FROM customer_records "
        "WHERE (block_postcode = ? OR block_birth = ?) AND profile_id <> ? "
        f"AND erased_at IS NULL ORDER BY id LIMIT {MAX_CANDIDATES}",
        (postcode, birth, profile_id),
    )
    best: dict[int, tuple[float, int, dict[str, float]]] = {}
    for other_id, other_profile, other_attributes in candidates:
        score, details = score_pair(me, MatchFields.of(sql.read_json(other_attributes)))
        if score >= rules.lower_threshold and score > best.get(other_profile, (0.0,))[0]:
            best[int(other_profile)] = (score, int(other_id), details)
    created: list[int] = []
    # A record that scores high against two profiles is ambiguous (a father and his son of
    # one name at one address, neither with a birth date): a person decides.
    ambiguous = sum(1 for score, _, _ in best.values() if score >= rules.upper_threshold) > 1
    for score, other_id, details in sorted(best.values(), reverse=True):
        a, b = sorted((record_id, other_id))
        if sql.first(
            "SELECT id FROM customer_match_suggestions WHERE record_a = ? AND record_b = ?", (a, b)
        ):
            continue
        now = utcnow()
        suggestion_id = int(
            conn.execute(
                insert(store.customer_match_suggestions)
                .values(
                    record_a=a,
                    record_b=b,
                    score=score,
                    details=details,
                    status="pending",
                    created_at=now,
                )
                .returning(S.id)
            ).scalar_one()
        )
        created.append(suggestion_id)
        if score >= rules.upper_threshold and not ambiguous:
            link_id = link_records(
                conn,
                record_id,
                other_id,
                "probabilistic",
                f"name, address and birth date score {score:.3f}",
                "matcher",
                score=score,
                rules=rules,
            )
            if link_id is not None:
                conn.execute(
                    update(store.customer_match_suggestions)
                    .where(S.id == suggestion_id)
                    .values(status="linked", link_id=link_id, decided_by="matcher", decided_at=now)
                )
    return created


def _view(conn: Connection, row: Any) -> Suggestion:
    profiles = {
        int(r.id): int(r.profile_id)
        for r in conn.execute(
            select(R.id, R.profile_id).where(R.id.in_([row.record_a, row.record_b]))
        )
    }
    return Suggestion(
        id=row.id,
        record_a=row.record_a,
        record_b=row.record_b,
        profile_a=int(profiles.get(row.record_a, 0)),
        profile_b=int(profiles.get(row.record_b, 0)),
        score=float(row.score),
        details=dict(row.details),
        status=row.status,
        link_id=row.link_id,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
    )


def get_suggestion(conn: Connection, suggestion_id: int) -> Suggestion:
    row = conn.execute(
        select(store.customer_match_suggestions).where(S.id == suggestion_id)
    ).first()
    if row is None:
        raise NotFound(f"match suggestion {suggestion_id} does not exist")
    return _view(conn, row)


def list_suggestions(
    conn: Connection, status: str | None = "pending", after: int = 0, limit: int = 50
) -> list[Suggestion]:
    """Suggestions by id, optionally of one status (highest id first is not needed: a queue)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    query = select(store.customer_match_suggestions).where(S.id > after)
    if status is not None:
        query = query.where(S.status == status)
    rows = conn.execute(query.order_by(S.id).limit(limit)).all()
    return [_view(conn, row) for row in rows]


def decide(conn: Connection, suggestion_id: int, confirm: bool, actor: str) -> Suggestion:
    """A person confirms (the two profiles merge, logged like any merge) or rejects a pending
    suggestion."""
    row = conn.execute(
        select(store.customer_match_suggestions).where(S.id == suggestion_id)
    ).first()
    if row is None:
        raise NotFound(f"match suggestion {suggestion_id} does not exist")
    if row.status != "pending":
        raise Conflict(f"match suggestion {suggestion_id} is already {row.status}")
    link_id = None
    if confirm:
        link_id = link_records(
            conn,
            row.record_a,
            row.record_b,
            "confirmed",
            f"suggestion {suggestion_id} (score {row.score:.3f}) confirmed by {actor}",
            actor,
            score=row.score,
        )
        if link_id is None and not _same_profile(conn, row.record_a, row.record_b):
            raise Conflict(
                f"suggestion {suggestion_id}: the merge would break a blob guard; see refusals"
            )
    conn.execute(
        update(store.customer_match_suggestions)
        .where(S.id == suggestion_id)
        .values(
            status="confirmed" if confirm else "rejected",
            link_id=link_id,
            decided_by=actor[:200],
            decided_at=utcnow(),
        )
    )
    return get_suggestion(conn, suggestion_id)


def _same_profile(conn: Connection, a: int, b: int) -> bool:
    profiles = conn.execute(select(R.profile_id).where(R.id.in_([a, b]))).scalars().all()
    return len(set(profiles)) == 1
