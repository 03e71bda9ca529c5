"""Consent per purpose (marketing e-mail, SMS, personalisation): every grant and withdrawal
is kept with its source and time; the current answer is the latest across the customer's
profile ids. No answer means no consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput
from channelhub.customers.journeys import profiles, store


class Purpose(StrEnum):
    MARKETING_EMAIL = "marketing_email"
    SMS = "sms"
    PERSONALISATION = "personalisation"


@dataclass(frozen=True)
class ConsentEvent:
    id: int
    profile_id: int
    purpose: Purpose
    granted: bool
    source: str
    note: str
    at: datetime


@dataclass(frozen=True)
class ConsentState:
    purpose: Purpose
    granted: bool
    source: str | None
    at: datetime | None


def record_consent(
    db: Database,
    profile_id: int,
    purpose: Purpose,
    granted: bool,
    source: str,
    note: str = "",
    at: datetime | None = None,
) -> ConsentEvent:
    """Record a grant or a withdrawal, with where it was given (channel, form, till)."""
    if not source or len(source) > 100 or "\x00" in source:
        raise InvalidInput("a consent names its source: 1 to 100 characters")
    if at is not None and at.tzinfo is None:
        raise InvalidInput("give the time of consent with a UTC offset")
    moment = at or utcnow()
    with db.transaction() as conn:
        survivor = profiles.current(conn, profile_id)
        new_id = conn.execute(
            insert(store.consent_events)
            .values(
                profile_id=survivor,
                purpose=purpose.value,
                granted=granted,
                source=source,
                note=note[:500],
                recorded_at=moment,
            )
            .returning(store.consent_events.c.id)
        ).scalar_one()
    return ConsentEvent(int(new_id), survivor, purpose, granted, source, note[:500], moment)


def history_of(conn: Connection, profile_ids: list[int]) -> list[ConsentEvent]:
    c = store.consent_events.c
    rows = conn.execute(
        select(store.consent_events)
        .where(c.profile_id.in_(profile_ids))
        .order_by(c.recorded_at, c.id)
    )
    return [
        ConsentEvent(r.id, r.profile_id, Purpose(r.purpose), r.granted, r.source, r.note,
                     r.recorded_at)
        for r in rows
    ]  # fmt: skip


def current_of(history: list[ConsentEvent]) -> list[ConsentState]:
    """The latest answer per purpose (history in time order); purposes never asked: False."""
    latest: dict[Purpose, ConsentEvent] = {}
    for event in history:
        latest[event.purpose] = event
    states = []
    for purpose in Purpose:
        found = latest.get(purpose)
        if found is None:
            states.append(ConsentState(purpose, False, None, None))
        else:
            states.append(ConsentState(purpose, found.granted, found.source, found.at))
    return states


def consents(db: Database, profile_id: int) -> tuple[list[ConsentState], list[ConsentEvent]]:
    """The current answer per purpose and the full history, over all the customer's ids."""
    with db.read() as conn:
        history = history_of(conn, profiles.members(conn, profile_id))
    return current_of(history), history


def has_consent(conn: Connection, profile_id: int, purpose: Purpose) -> bool:
    """Whether the customer's latest answer for ``purpose`` is a grant."""
    history = history_of(conn, profiles.members(conn, profile_id))
    return next(s.granted for s in current_of(history) if s.purpose == purpose)
