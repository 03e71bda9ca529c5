"""Service interactions any channel logs about a customer: notes, tickets and chats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, NotFound, ProblemList
from channelhub.customers.journeys import profiles, store

MAX_BODY = 20_000


class InteractionKind(StrEnum):
    NOTE = "note"
    TICKET = "ticket"
    CHAT = "chat"


class InteractionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Interaction:
    id: int
    profile_id: int
    kind: InteractionKind
    channel: str
    subject: str
    body: str
    status: InteractionStatus
    author: str
    created_at: datetime
    updated_at: datetime


def _from_row(r: Row[Any]) -> Interaction:
    return Interaction(
        r.id, r.profile_id, InteractionKind(r.kind), r.channel, r.subject, r.body,
        InteractionStatus(r.status), r.author, r.created_at, r.updated_at,
    )  # fmt: skip


def log_interaction(
    db: Database,
    profile_id: int,
    kind: InteractionKind,
    channel: str,
    subject: str,
    body: str,
    author: str,
) -> Interaction:
    """Log a note (closed at once), or open a ticket or a chat, for the customer."""
    problems = ProblemList()
    if not channel or len(channel) > 100:
        problems.add("channel", "1 to 100 characters: the channel or desk that logged it")
    if len(subject) > 200:
        problems.add("subject", "at most 200 characters")
    if not body.strip() or len(body) > MAX_BODY:
        problems.add("body", f"1 to {MAX_BODY} characters")
    if not author or len(author) > 200:
        problems.add("author", "1 to 200 characters")
    for name, value in (("channel", channel), ("subject", subject), ("body", body)):
        if "\x00" in value:
            problems.add(name, "NUL characters are not allowed")
    problems.raise_if_any("the interaction is not valid")
    status = InteractionStatus.CLOSED if kind == InteractionKind.NOTE else InteractionStatus.OPEN
    now = utcnow()
    with db.transaction() as conn:
        survivor = profiles.current(conn, profile_id)
        row = conn.execute(
            insert(store.customer_interactions)
            .values(
                profile_id=survivor,
                kind=kind.value,
                channel=channel,
                subject=subject,
                body=body,
                status=status.value,
                author=author,
                created_at=now,
                updated_at=now,
            )
            .returning(*store.customer_interactions.c)
        ).one()
    return _from_row(row)


def close_interaction(db: Database, profile_id: int, interaction_id: int) -> Interaction:
    """Close an open ticket or chat of the customer."""
    c = store.customer_interactions.c
    with db.transaction() as conn:
        ids = profiles.members(conn, profile_id)
        row = conn.execute(
            select(store.customer_interactions).where(c.id == interaction_id, c.profile_id.in_(ids))
        ).first()
        if row is None:
            raise NotFound(f"customer {profile_id} has no interaction {interaction_id}")
        if row.status == InteractionStatus.CLOSED:
            raise Conflict(f"interaction {interaction_id} is closed already")
        updated = conn.execute(
            update(store.customer_interactions)
            .where(c.id == interaction_id)
            .values(status=InteractionStatus.CLOSED.value, updated_at=utcnow())
            .returning(*store.customer_interactions.c)
        ).one()
    return _from_row(updated)


def interactions_of(conn: Connection, profile_ids: list[int]) -> list[Interaction]:
    c = store.customer_interactions.c
    rows = conn.execute(
        select(store.customer_interactions)
        .where(c.profile_id.in_(profile_ids))
        .order_by(c.created_at, c.id)
    )
    return [_from_row(r) for r in rows]


def list_interactions(db: Database, profile_id: int) -> list[Interaction]:
    with db.read() as conn:
        return interactions_of(conn, profiles.members(conn, profile_id))
