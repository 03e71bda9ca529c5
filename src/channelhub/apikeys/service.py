"""Create, verify, list and revoke API keys.

A key reads ``chk_<prefix>_<secret>``: the prefix finds the row, the secret is compared to
its SHA-256 hash in constant time. Scopes are ordered: ``admin`` implies ``write`` implies ``read``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from channelhub.apikeys.store import api_keys
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotAllowed, NotFound, Unauthenticated


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_RANK = {Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, needed: Scope) -> bool:
        """Whether this key's scopes cover ``needed`` (admin covers write covers read)."""
        return any(_RANK[s] >= _RANK[needed] for s in self.scopes)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(db: Database, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key; returns it with the plain token, which is shown once and never stored."""
    if not name.strip():
        raise InvalidInput("an API key needs a name")
    try:
        parsed = tuple(sorted({Scope(s) for s in scopes}, key=_RANK.__getitem__))
    except ValueError:
        raise InvalidInput(f"scopes must be among {', '.join(s.value for s in Scope)}") from None
    if not parsed:
        raise InvalidInput("an API key needs at least one scope")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with db.transaction() as conn:
        key_id = conn.execute(
            insert(api_keys)
            .values(
                name=name.strip(),
                prefix=prefix,
                secret_hash=_hash(secret),
                scopes=[s.value for s in parsed],
                created_at=now,
            )
            .returning(api_keys.c.id)
        ).scalar_one()
    return ApiKey(key_id, name.strip(), prefix, parsed, now, None), f"chk_{prefix}_{secret}"


def authenticate(db: Database, token: str) -> ApiKey:
    """The live key a token belongs to, or Unauthenticated."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "chk":
        raise Unauthenticated("the API key is malformed")
    with db.read() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(parts[2])):
        raise Unauthenticated("the API key is not known")
    if row.revoked_at is not None:
        raise Unauthenticated("the API key was revoked")
    return _to_key(row)


def require(key: ApiKey, scope: Scope) -> None:
    if not key.allows(scope):
        raise NotAllowed(f"this API key lacks the {scope.value} scope")


def list_keys(db: Database) -> list[ApiKey]:
    with db.read() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
    return [_to_key(r) for r in rows]


def revoke_key(db: Database, prefix: str) -> None:
    with db.transaction() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
    if done == 0:
        raise NotFound(f"no live API key with prefix {prefix!r}")


def _to_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
