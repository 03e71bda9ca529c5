"""Preferences a customer gave in any channel: sizes, favourite store, favourite channel.

One value per name and profile id; across a merged customer the most recent value wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.customers.journeys import profiles, store

#: Known names: ``size.<garment>`` (``size.shirt``), ``favourite_store`` (a location code),
#: ``favourite_channel`` (a channel code); others are free, lower case with dots.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}(\.[a-z0-9_]{1,40})?$")
FAVOURITE_STORE = "favourite_store"
FAVOURITE_CHANNEL = "favourite_channel"


@dataclass(frozen=True)
class Preference:
    name: str
    value: Any
    source: str
    profile_id: int
    at: datetime


def set_preference(db: Database, profile_id: int, name: str, value: Any, source: str) -> Preference:
    """Set (or replace) one preference of the customer."""
    if not NAME.match(name):
        raise InvalidInput(f"preference name {name[:60]!r}: lower case, e.g. size.shirt")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"preference {name}: give a value (delete to forget it)")
    if name in (FAVOURITE_STORE, FAVOURITE_CHANNEL) and not isinstance(value, str):
        raise InvalidInput(f"preference {name}: a location or channel code")
    if not source or len(source) > 100:
        raise InvalidInput("a preference names its source: 1 to 100 characters")
    now = utcnow()
    with db.transaction() as conn:
        survivor = profiles.current(conn, profile_id)
        ids = profiles.members(conn, survivor)
        c = store.customer_preferences.c
        # One value per customer: older values of merged profile ids are superseded.
        conn.execute(
            delete(store.customer_preferences).where(c.profile_id.in_(ids), c.name == name)
        )
        conn.execute(
            insert(store.customer_preferences).values(
                profile_id=survivor, name=name, value=value, source=source, updated_at=now
            )
        )
    return Preference(name, value, source, survivor, now)


def delete_preference(db: Database, profile_id: int, name: str) -> None:
    with db.transaction() as conn:
        ids = profiles.members(conn, profile_id)
        c = store.customer_preferences.c
        gone = conn.execute(
            delete(store.customer_preferences).where(c.profile_id.in_(ids), c.name == name)
        ).rowcount
    if not gone:
        raise NotFound(f"customer {profile_id} has no preference {name!r}")


def preferences_of(conn: Connection, profile_ids: list[int]) -> dict[str, Preference]:
    """Name -> the most recent value among the profile ids."""
    c = store.customer_preferences.c
    found: dict[str, Preference] = {}
    for r in conn.execute(
        select(store.customer_preferences)
        .where(c.profile_id.in_(profile_ids))
        .order_by(c.updated_at, c.id)
    ):
        found[r.name] = Preference(r.name, r.value, r.source, r.profile_id, r.updated_at)
    return dict(sorted(found.items()))


def list_preferences(db: Database, profile_id: int) -> dict[str, Preference]:
    with db.read() as conn:
        return preferences_of(conn, profiles.members(conn, profile_id))
