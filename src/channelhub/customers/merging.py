"""Merges by hand or by score, and unmerge: the link log's writers besides the resolver.

The log (``customer_links``) is append-only. ``unmerge`` appends an ``unlink`` naming the link
it undoes, then re-derives the profiles of the records involved from the links that remain
(connected components). Each part gets back the profile id its oldest record was first placed
in (a part that never had one gets a new id), and the two records stay apart afterwards: the
resolver refuses to merge them again on its own; a person can.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from channelhub.core.database import utcnow
from channelhub.core.errors import Conflict, NotFound
from channelhub.core.events import record_event
from channelhub.customers import store
from channelhub.customers.identity import (
    absorb,
    canonical_profile_id,
    is_kept_apart,
    load_rules,
    new_profile,
    profile_identifiers,
    record_refusal,
    refresh_golden,
)
from channelhub.customers.model import MergeRules, cap_violation, components, people_conflict

P = store.customer_profiles.c
R = store.customer_records.c
L = store.customer_links.c

#: Link methods that are a person's decision: they override an earlier unmerge.
PERSON = frozenset({"manual", "confirmed", "restored"})


def link_records(
    conn: Connection,
    record_id: int,
    other_record_id: int,
    method: str,
    reason: str,
    actor: str,
    score: float | None = None,
    rules: MergeRules | None = None,
    identifier: tuple[str, str] | None = None,
) -> int | None:
    """Merge the profiles of two records through a logged link; the link id, or None when a
    guard refused (the refusal is recorded). A person's (``manual``) link overrides an unmerge
    but never the blob guards."""
    rows = {
        int(r.id): int(r.profile_id)
        for r in conn.execute(
            select(R.id, R.profile_id).where(R.id.in_([record_id, other_record_id]))
        )
    }
    if len(rows) != 2:
        raise NotFound(f"customer record {record_id} or {other_record_id} does not exist")
    pa, pb = rows[record_id], rows[other_record_id]
    if pa == pb:
        return None
    survivor, absorbed = sorted((pa, pb))
    violation = cap_violation(profile_identifiers(conn, [pa, pb]), rules or load_rules(conn))
    if violation is None and method == "probabilistic":
        # A score links records; the profiles behind them must be able to be one person too
        # (a record without a birth date scores high against a father and his son alike).
        conflict = people_conflict(_person(conn, pa), _person(conn, pb))
        if conflict:
            violation = ("name_conflict", f"the profiles have {conflict}")
    if violation is None and method not in PERSON and is_kept_apart(conn, pa, pb):
        violation = ("unmerged", "a person unmerged these profiles; merge them by hand")
    if violation:
        record_refusal(conn, record_id, absorbed, "record", str(other_record_id), *violation)
        return None
    absorb(conn, survivor, absorbed)
    link_id = int(
        conn.execute(
            insert(store.customer_links)
            .values(
                action="link",
                record_id=record_id,
                other_record_id=other_record_id,
                profile_id=survivor,
                merged_profile_id=absorbed,
                method=method,
                identifier_kind=identifier[0] if identifier else None,
                identifier_value=identifier[1] if identifier else None,
                score=score,
                reason=reason[:500],
                undoes=None,
                actor=actor[:200],
                created_at=utcnow(),
            )
            .returning(L.id)
        ).scalar_one()
    )
    record_event(
        conn,
        "customers.profile_merged",
        str(survivor),
        {"profile_id": survivor, "merged": [absorbed], "method": method},
    )
    refresh_golden(conn, survivor)
    return link_id


def _person(conn: Connection, profile_id: int) -> tuple[str, str, str]:
    golden = conn.execute(select(P.golden).where(P.id == profile_id)).scalar_one()
    return (
        str((golden.get("first_name") or {}).get("value") or ""),
        str((golden.get("last_name") or {}).get("value") or ""),
        str((golden.get("birth_date") or {}).get("value") or ""),
    )


def merge_profiles(conn: Connection, profile_a: int, profile_b: int, actor: str) -> int:
    """A person's merge of two profiles (overrides an earlier unmerge); the survivor's id."""
    a, b = canonical_profile_id(conn, profile_a), canonical_profile_id(conn, profile_b)
    if a == b:
        return a
    first_a = conn.execute(select(func.min(R.id)).where(R.profile_id == a)).scalar()
    first_b = conn.execute(select(func.min(R.id)).where(R.profile_id == b)).scalar()
    if first_a is None or first_b is None:
        raise Conflict("a profile without records cannot be merged")
    link = link_records(
        conn, int(first_a), int(first_b), "manual", f"merged by {actor}"[:500], actor
    )
    if link is None:
        raise Conflict(f"merging profiles {a} and {b} would break a blob guard; see refusals")
    return min(a, b)


def unmerge(conn: Connection, link_id: int, actor: str) -> list[int]:
    """Undo one link of the log and re-derive the profiles it joined; the resulting ids."""
    link = conn.execute(select(store.customer_links).where(L.id == link_id)).first()
    if link is None or link.action != "link":
        raise NotFound(f"merge link {link_id} does not exist")
    if conn.execute(select(L.id).where(L.undoes == link_id)).first() is not None:
        raise Conflict(f"merge link {link_id} was already undone")
    profile_id = int(conn.execute(select(R.profile_id).where(R.id == link.record_id)).scalar_one())
    now = utcnow()
    conn.execute(
        insert(store.customer_links).values(
            action="unlink",
            record_id=link.record_id,
            other_record_id=link.other_record_id,
            profile_id=profile_id,
            merged_profile_id=link.merged_profile_id,
            method="manual",
            identifier_kind=link.identifier_kind,
            identifier_value=link.identifier_value,
            score=None,
            reason=f"unmerge of link {link_id} by {actor}"[:500],
            undoes=link_id,
            actor=actor[:200],
            created_at=now,
        )
    )
    result = rederive(conn, profile_id, now)
    record_event(
        conn,
        "customers.profile_unmerged",
        str(profile_id),
        {"profile_id": profile_id, "profiles": result, "link_id": link_id},
    )
    return result


def rederive(conn: Connection, profile_id: int, now: datetime) -> list[int]:
    """Recompute the profiles of ``profile_id``'s records from the active links among them."""
    members = {
        int(r.id): int(r.home_profile_id)
        for r in conn.execute(select(R.id, R.home_profile_id).where(R.profile_id == profile_id))
    }
    undone = select(L.undoes).where(L.undoes.is_not(None))
    edges = [
        (int(r.record_id), int(r.other_record_id))
        for r in conn.execute(
            select(L.record_id, L.other_record_id).where(
                L.action == "link", L.record_id.in_(list(members)), L.id.not_in(undone)
            )
        )
        if r.other_record_id in members
    ]
    parts = components(members, edges)
    part_of = {record: i for i, part in enumerate(parts) for record in part}
    # A profile id goes with the part holding the oldest record first placed in it.
    owner: dict[int, int] = {}
    for record in sorted(members):
        owner.setdefault(members[record], part_of[record])
    redirected = conn.execute(select(P.id).where(P.merged_into == profile_id)).scalars().all()
    ids: list[int] = []
    for index, part in enumerate(parts):
        owned = sorted(p for p, i in owner.items() if i == index)
        survivor = owned[0] if owned else new_profile(conn, now)
        ids.append(survivor)
        conn.execute(
            update(store.customer_records).where(R.id.in_(part)).values(profile_id=survivor)
        )
        conn.execute(
            update(store.customer_profiles)
            .where(P.id == survivor)
            .values(merged_into=None, updated_at=now)
        )
        others = [p for p in owned if p != survivor]
        if others:
            conn.execute(
                update(store.customer_profiles)
                .where(P.id.in_(others))
                .values(merged_into=survivor, updated_at=now)
            )
    # Ids that redirected here but own no record stay with the part that kept this id.
    keeper = profile_id if profile_id in ids else ids[0]
    stray = [p for p in redirected if p not in owner]
    if stray:
        conn.execute(
            update(store.customer_profiles).where(P.id.in_(stray)).values(merged_into=keeper)
        )
    for survivor in ids:
        refresh_golden(conn, survivor)
    return ids
