"""Users, roles and what each role may see and change.

| role | sees | changes |
|---|---|---|
| admin | everything | everything, users included; a customer's export and erasure |
| merchandiser | dashboard, products, stock, orders, audit | products |
| stock | dashboard, products, stock, orders | stock (adjust, count, transfer), shipments |
| service | dashboard, products, stock, orders, customers | returns, cancellations; customers |
| integrator | dashboard, products, stock, orders, channels, sync | connections; replays |

A person's data export and erasure are the admin's only, as the API asks its ``admin`` scope
for them: erasure cannot be undone, and an export hands out everything the hub holds of them.

Passwords are hashed with Argon2id (argon2-cffi); a failed login says only that the name or
the password is wrong. Sessions and sign-in throttling are in ``admin.sessions``; changing a
user's password or disabling them ends their sessions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from channelhub.admin.store import admin_sessions, admin_users
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound


class Role(StrEnum):
    ADMIN = "admin"
    MERCHANDISER = "merchandiser"
    STOCK = "stock"
    SERVICE = "service"
    INTEGRATOR = "integrator"  # sets up and watches the channel connections


class Permission(StrEnum):
    DASHBOARD = "dashboard"
    PRODUCTS_READ = "products.read"
    PRODUCTS_WRITE = "products.write"
    STOCK_READ = "stock.read"
    STOCK_WRITE = "stock.write"
    ORDERS_READ = "orders.read"
    ORDERS_SHIP = "orders.ship"
    ORDERS_SERVICE = "orders.service"  # returns and cancellations
    CUSTOMERS = "customers"
    CUSTOMERS_PRIVACY = "customers.privacy"  # a person's data export and erasure
    CHANNELS = "channels"  # connections, tests, mapping previews
    SYNC = "sync"  # the message log, dead letters, replay
    AUDIT = "audit"
    USERS = "users"


P = Permission
_READ = {P.DASHBOARD, P.PRODUCTS_READ, P.STOCK_READ, P.ORDERS_READ}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MERCHANDISER: frozenset(_READ | {P.PRODUCTS_WRITE, P.AUDIT}),
    Role.STOCK: frozenset(_READ | {P.STOCK_WRITE, P.ORDERS_SHIP}),
    Role.SERVICE: frozenset(_READ | {P.ORDERS_SERVICE, P.CUSTOMERS}),
    Role.INTEGRATOR: frozenset(_READ | {P.CHANNELS, P.SYNC}),
}

_hasher = PasswordHasher()
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    def can(self, permission: Permission) -> bool:
        return self.active and permission in PERMISSIONS[self.role]


def user_from_row(row: object) -> User:
    """A User from a row of ``admin_users``."""
    return User(
        row.id,  # type: ignore[attr-defined]
        row.username,  # type: ignore[attr-defined]
        Role(row.role),  # type: ignore[attr-defined]
        bool(row.active),  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
        row.last_login_at,  # type: ignore[attr-defined]
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > 200:
        raise InvalidInput("password: at most 200 characters")


def create_user(db: Database, username: str, password: str, role: Role | str) -> User:
    name = username.strip().lower()
    if not _NAME.match(name):
        raise InvalidInput(f"username {username!r}: 2 to 100 of a-z, 0-9, '.', '_', '@' and '-'")
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInput(f"role {role!r}: one of {', '.join(r.value for r in Role)}") from None
    _check_password(password)
    hashed = _hasher.hash(password)
    try:
        with db.transaction() as conn:
            conn.execute(
                insert(admin_users).values(
                    username=name,
                    password_hash=hashed,
                    role=chosen.value,
                    active=True,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        raise Conflict(f"user {name!r} already exists") from None
    return get_user(db, name)


def get_user(db: Database, username: str) -> User:
    with db.read() as conn:
        row = conn.execute(
            select(admin_users).where(admin_users.c.username == username.strip().lower())
        ).first()
    if row is None:
        raise NotFound(f"user {username!r} does not exist")
    return user_from_row(row)


def user_by_id(db: Database, user_id: int) -> User | None:
    with db.read() as conn:
        row = conn.execute(select(admin_users).where(admin_users.c.id == user_id)).first()
    return None if row is None else user_from_row(row)


def list_users(db: Database) -> list[User]:
    with db.read() as conn:
        return [
            user_from_row(r)
            for r in conn.execute(select(admin_users).order_by(admin_users.c.username))
        ]


def count_users(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(admin_users)).scalar_one())


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user, when the name exists, is active and the password matches; else None."""
    with db.read() as conn:
        row = conn.execute(
            select(admin_users).where(admin_users.c.username == username.strip().lower())
        ).first()
    if row is None:
        _hasher.hash(password)  # the same work as a real check: no timing hint
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if not row.active:
        return None
    with db.transaction() as conn:
        values: dict[str, object] = {"last_login_at": utcnow()}
        if _hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = _hasher.hash(password)
        conn.execute(update(admin_users).where(admin_users.c.id == row.id).values(**values))
    return user_by_id(db, row.id)


def update_user(
    db: Database,
    username: str,
    *,
    role: Role | str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change a user's role, state or password; the last active admin cannot be demoted."""
    user = get_user(db, username)
    values: dict[str, object] = {}
    if role is not None:
        try:
            values["role"] = Role(role).value
        except ValueError:
            raise InvalidInput(
                f"role {role!r}: one of {', '.join(r.value for r in Role)}"
            ) from None
    if active is not None:
        values["active"] = active
    if password is not None:
        _check_password(password)
        values["password_hash"] = _hasher.hash(password)
    if not values:
        return user
    with db.transaction() as conn:
        conn.execute(update(admin_users).where(admin_users.c.id == user.id).values(**values))
        if password is not None or active is False:
            # A new password or a disabled user ends every session: a stolen cookie dies too.
            why = "password changed" if password is not None else "user disabled"
            s = admin_sessions.c
            conn.execute(
                update(admin_sessions)
                .where(s.user_id == user.id, s.ended_at.is_(None))
                .values(ended_at=utcnow(), ended_why=why)
            )
        admins = conn.execute(
            select(func.count())
            .select_from(admin_users)
            .where(admin_users.c.role == Role.ADMIN.value, admin_users.c.active.is_(True))
        ).scalar_one()
        if admins == 0:
            raise Conflict("that would leave no active admin; make another admin first")
    return get_user(db, username)
