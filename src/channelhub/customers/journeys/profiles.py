"""The journeys' one door to the identity graph: which profile a customer is now, which
profile ids make it up, and which orders are theirs.

Journey rows keep the profile id they were written for; every reader goes through
``members`` so that merges and unmerges show at once without rewriting a row.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from channelhub.customers import identity
from channelhub.customers.store import customer_order_links


def current(conn: Connection, profile_id: int) -> int:
    """The surviving profile id of ``profile_id`` (NotFound when it never existed)."""
    return int(identity.canonical_profile_id(conn, profile_id))


def members(conn: Connection, profile_id: int) -> list[int]:
    """Every profile id that is part of the customer ``profile_id`` is now (itself included)."""
    survivor = current(conn, profile_id)
    found = {int(p) for p in identity.profile_members(conn, survivor)}
    found.add(survivor)
    return sorted(found)


def find(conn: Connection, kind: str, value: str) -> int | None:
    """The surviving profile holding identifier ``kind`` = ``value``, if any."""
    found = identity.find_profile(conn, kind, value)
    return None if found is None else current(conn, int(found))


def order_profile(conn: Connection, order_id: int) -> int | None:
    """The profile an order was linked to (None while not linked)."""
    c = customer_order_links.c
    found = conn.execute(select(c.profile_id).where(c.order_id == order_id)).scalar()
    return None if found is None else int(found)


def order_ids(conn: Connection, profile_ids: Sequence[int]) -> list[int]:
    """The ids of the orders of these profiles, oldest first."""
    c = customer_order_links.c
    return [
        int(i)
        for i in conn.execute(
            select(c.order_id).where(c.profile_id.in_(list(profile_ids))).order_by(c.order_id)
        ).scalars()
    ]


def survivors(conn: Connection, profile_ids: Sequence[int]) -> dict[int, int]:
    """Profile id -> its surviving id, for many ids in a few statements (identity keeps
    every redirect one hop long)."""
    from channelhub.customers.store import customer_profiles

    p = customer_profiles.c
    found: dict[int, int] = {}
    unique = sorted(set(profile_ids))
    for start in range(0, len(unique), 1000):
        chunk = unique[start : start + 1000]
        for pid, merged_into in conn.execute(select(p.id, p.merged_into).where(p.id.in_(chunk))):
            found[int(pid)] = int(merged_into) if merged_into is not None else int(pid)
    return found
