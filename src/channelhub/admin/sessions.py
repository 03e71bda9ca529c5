"""Admin sign-in: throttled per user name and per address, and server-side sessions.

The session cookie carries a random token; the database keeps its SHA-256 with the user, the
address and the expiry. A session ends on sign-out, when its user's password changes and when
the user is disabled, so a copied cookie is worth nothing afterwards (a signed stateless
cookie stayed valid for its whole lifetime).

Throttling: after ``USER_FREE`` failed sign-ins for a user name (``ADDRESS_FREE`` from one
address, which many people may share), each further failure locks that name (or address) for
twice as long as the last, from 1 second up to ``MAX_LOCK``; a locked sign-in is refused
before the password is checked, with the seconds to wait. Failures older than ``WINDOW`` are
forgotten. A successful sign-in clears its user name's count, not its address's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.admin.store import admin_sessions, admin_sign_in_failures, admin_users
from channelhub.admin.users import User, authenticate, user_from_row
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError

SESSION_LIFETIME = timedelta(hours=8)
USER_FREE = 5
ADDRESS_FREE = 20
MAX_LOCK = timedelta(minutes=15)
WINDOW = timedelta(minutes=15)


class TooManyAttempts(ChannelhubError):
    """Sign-in is locked for this user name or address; try again after ``retry_after`` s."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value; only its hash is stored
    user: User
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _keys(username: str, address: str) -> dict[str, int]:
    """Throttle keys with the failures each may have before it locks."""
    return {
        f"user:{username.strip().lower()[:150]}": USER_FREE,
        f"address:{address[:150]}": ADDRESS_FREE,
    }


def _lock_for(failures: int, free: int) -> timedelta | None:
    if failures < free:
        return None
    return min(MAX_LOCK, timedelta(seconds=2 ** min(failures - free, 20)))


def locked_for(db: Database, username: str, address: str, now: datetime | None = None) -> int:
    """Seconds until a sign-in as ``username`` from ``address`` may be tried; 0 when it may."""
    now = now or utcnow()
    f = admin_sign_in_failures.c
    with db.read() as conn:
        until = conn.execute(
            select(f.locked_until).where(
                f.key.in_(list(_keys(username, address))), f.locked_until > now
            )
        ).scalars()
        latest = max(until, default=None)
    if latest is None:
        return 0
    return max(1, int((latest - now).total_seconds() + 0.999))


def _record_failure(conn: Connection, key: str, free: int, now: datetime) -> None:
    f = admin_sign_in_failures.c
    row = conn.execute(
        select(f.failures, f.last_failed_at).where(f.key == key).with_for_update()
    ).first()
    failures = 1
    if row is not None and now - row.last_failed_at < WINDOW + MAX_LOCK:
        failures = row.failures + 1
    lock = _lock_for(failures, free)
    values = {
        "failures": failures,
        "last_failed_at": now,
        "locked_until": now + lock if lock else None,
    }
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(admin_sign_in_failures)
        .values(key=key, **values)
        .on_conflict_do_update(index_elements=[f.key], set_=values)
    )


def sign_in(
    db: Database, username: str, password: str, address: str, now: datetime | None = None
) -> Session | None:
    """A new session when the name and password are right and sign-in is not locked; None
    when they are wrong (the failure counts). Raises TooManyAttempts while locked.

    Blocking (Argon2 costs ~100 ms of CPU): call it from a worker thread, not the event loop.
    """
    now = now or utcnow()
    wait = locked_for(db, username, address, now)
    if wait:
        raise TooManyAttempts(wait)
    user = authenticate(db, username, password)
    keys = _keys(username, address)
    with db.transaction() as conn:
        if user is None:
            for key in sorted(keys):  # one order, so concurrent failures never deadlock
                _record_failure(conn, key, keys[key], now)
            return None
        conn.execute(
            admin_sign_in_failures.delete().where(
                admin_sign_in_failures.c.key == f"user:{user.username}"
            )
        )
        token = secrets.token_urlsafe(32)
        expires = now + SESSION_LIFETIME
        conn.execute(
            admin_sessions.insert().values(
                token_hash=_hash(token),
                user_id=user.id,
                address=address[:100],
                created_at=now,
                expires_at=expires,
            )
        )
    return Session(token, user, expires)


def user_of(db: Database, token: str, now: datetime | None = None) -> User | None:
    """The active user of a live session, or None (unknown, ended or expired)."""
    if not token or len(token) > 100:
        return None
    s = admin_sessions.c
    with db.read() as conn:
        row = conn.execute(
            select(admin_users)
            .join_from(admin_sessions, admin_users, s.user_id == admin_users.c.id)
            .where(
                s.token_hash == _hash(token),
                s.ended_at.is_(None),
                s.expires_at > (now or utcnow()),
                admin_users.c.active.is_(True),
            )
        ).first()
    return None if row is None else user_from_row(row)


def sign_out(db: Database, token: str) -> None:
    """End the session of ``token`` (nothing happens when it is unknown or ended)."""
    s = admin_sessions.c
    with db.transaction() as conn:
        conn.execute(
            update(admin_sessions)
            .where(s.token_hash == _hash(token), s.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_why="signed out")
        )
