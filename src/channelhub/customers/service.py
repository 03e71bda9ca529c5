"""Customer use cases for the API and the CLI: ingest, look up, merge and unmerge, rules.

Each opens one unit of work on the database and calls ``identity``, ``merging`` and
``matching``; data-protection export and erasure live in ``erasure``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.customers import identity, matching, merging, quarantine, store
from channelhub.customers.model import CustomerRecord, IdentifierKind, MergeRules

P = store.customer_profiles.c
R = store.customer_records.c
I = store.customer_identifiers.c  # noqa: E741
L = store.customer_links.c
F = store.customer_refusals.c
O = store.customer_order_links.c  # noqa: E741


@dataclass(frozen=True)
class ProfileView:
    """One person: the golden record with the source of each field, identifiers, the channel
    records behind it, the ids merged into it and its linked orders."""

    id: int
    requested_id: int
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    merged_ids: list[int]
    golden: dict[str, Any]
    identifiers: list[dict[str, Any]]
    records: list[dict[str, Any]]
    order_ids: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requested_id": self.requested_id,
            "redirected": self.requested_id != self.id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "erased_at": self.erased_at.isoformat() if self.erased_at else None,
            "merged_ids": self.merged_ids,
            "golden": self.golden,
            "identifiers": self.identifiers,
            "records": self.records,
            "order_ids": self.order_ids,
        }


def ingest(db: Database, record: CustomerRecord) -> identity.Resolution:
    """Resolve one record (a sign-up, a POS sale's loyalty card, an app install)."""
    with db.transaction() as conn:
        return identity.resolve_record(conn, record)


def load_profile(conn: Connection, profile_id: int) -> ProfileView:
    members = identity.profile_members(conn, profile_id)
    survivor = members[0]
    row = conn.execute(select(store.customer_profiles).where(P.id == survivor)).one()
    records = conn.execute(
        select(R.id, R.channel, R.source_ref, R.attributes, R.seen_count, R.observed_at)
        .where(R.profile_id == survivor)
        .order_by(R.id)
    ).all()
    identifiers = conn.execute(
        select(I.kind, I.value, I.record_id, R.channel)
        .select_from(store.customer_identifiers.join(store.customer_records))
        .where(R.profile_id == survivor)
        .order_by(I.kind, I.value, I.record_id)
    ).all()
    orders = conn.execute(
        select(O.order_id).where(O.profile_id.in_(members)).order_by(O.order_id)
    ).scalars()
    return ProfileView(
        id=survivor,
        requested_id=profile_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        erased_at=row.erased_at,
        merged_ids=members[1:],
        golden=dict(row.golden or {}),
        identifiers=[
            {"kind": i.kind, "value": i.value, "record_id": i.record_id, "channel": i.channel}
            for i in identifiers
        ],
        records=[
            {
                "id": r.id,
                "channel": r.channel,
                "source_ref": r.source_ref,
                "attributes": r.attributes,
                "seen_count": r.seen_count,
                "observed_at": r.observed_at.isoformat(),
            }
            for r in records
        ],
        order_ids=[int(o) for o in orders],
    )


def get_profile(db: Database, profile_id: int) -> ProfileView:
    """A profile by any id it ever had (merged ids redirect to the survivor)."""
    with db.read() as conn:
        return load_profile(conn, profile_id)


def search_profiles(
    db: Database,
    query: str = "",
    kind: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Surviving profiles matching an identifier (``kind`` given, or tried as e-mail, phone,
    loyalty card and device id) or a name; without a query, all profiles by id."""
    limit = max(1, min(limit, 500))
    with db.read() as conn:
        ids: list[int]
        if query.strip():
            ids = sorted(_search_ids(conn, query.strip(), kind))
            ids = [i for i in ids if i > after][:limit]
        else:
            ids = [
                int(i)
                for i in conn.execute(
                    select(P.id)
                    .where(P.merged_into.is_(None), P.id > after)
                    .order_by(P.id)
                    .limit(limit)
                ).scalars()
            ]
        rows = conn.execute(select(P.id, P.golden, P.erased_at).where(P.id.in_(ids))).all()
        by_id = {r.id: r for r in rows}
        return [
            {
                "id": i,
                "golden": {k: v.get("value") for k, v in (by_id[i].golden or {}).items()},
                "erased": by_id[i].erased_at is not None,
            }
            for i in ids
            if i in by_id
        ]


def _search_ids(conn: Connection, query: str, kind: str | None) -> set[int]:
    kinds = (
        [kind]
        if kind
        else [
            IdentifierKind.EMAIL,
            IdentifierKind.PHONE,
            IdentifierKind.LOYALTY_CARD,
            IdentifierKind.DEVICE,
            IdentifierKind.CHANNEL_CUSTOMER,
        ]
    )
    known = {k.value for k in IdentifierKind}
    found: set[int] = set()
    for each in kinds:
        if each not in known:
            raise InvalidInput(f"kind must be one of {sorted(known)}, not {each!r}")
        scoped = (IdentifierKind.CHANNEL_CUSTOMER, IdentifierKind.MARKETPLACE_BUYER)
        if each in scoped and ":" not in query:
            continue
        try:
            profile = identity.find_profile(conn, each, query)
        except InvalidInput:
            if kind:
                raise
            continue
        if profile is not None:
            found.add(profile)
    if not kind:
        # A name: records whose first or last name is the query (case-insensitive).
        pattern = query.lower()
        names = (
            select(R.profile_id)
            .where(
                R.erased_at.is_(None),
                or_(
                    func.lower(R.attributes["last_name"].as_string()) == pattern,
                    func.lower(R.attributes["first_name"].as_string()) == pattern,
                ),
            )
            .limit(500)
        )
        found.update(int(p) for p in conn.execute(names).scalars())
    return found


def merge_log(db: Database, profile_id: int) -> list[dict[str, Any]]:
    """Every link and unlink touching the records of this profile, oldest first, and what
    the guards refused for it."""
    with db.read() as conn:
        survivor = identity.canonical_profile_id(conn, profile_id)
        records = select(R.id).where(R.profile_id == survivor)
        rows = conn.execute(
            select(store.customer_links)
            .where(or_(L.record_id.in_(records), L.other_record_id.in_(records)))
            .order_by(L.id)
        ).all()
        return [_link_dict(r) for r in rows]


def _link_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "action": row.action,
        "record_id": row.record_id,
        "other_record_id": row.other_record_id,
        "profile_id": row.profile_id,
        "merged_profile_id": row.merged_profile_id,
        "method": row.method,
        "identifier_kind": row.identifier_kind,
        "identifier_value": row.identifier_value,
        "score": row.score,
        "reason": row.reason,
        "undoes": row.undoes,
        "actor": row.actor,
        "created_at": row.created_at.isoformat(),
    }


def refusals(db: Database, profile_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """What the guards refused (newest first), for one profile or all."""
    with db.read() as conn:
        query = select(store.customer_refusals).order_by(F.id.desc()).limit(limit)
        if profile_id is not None:
            members = identity.profile_members(conn, profile_id)
            records = select(R.id).where(R.profile_id == members[0])
            query = query.where(or_(F.profile_id.in_(members), F.record_id.in_(records)))
        return [
            {
                "id": r.id,
                "record_id": r.record_id,
                "profile_id": r.profile_id,
                "kind": r.kind,
                "value": r.value,
                "rule": r.rule,
                "detail": r.detail,
                "created_at": r.created_at.isoformat(),
            }
            for r in conn.execute(query)
        ]


def unmerge(db: Database, link_id: int, actor: str) -> list[int]:
    """Undo one merge of the log; the ids of the profiles it leaves."""
    with db.transaction() as conn:
        return merging.unmerge(conn, link_id, actor)


def merge(db: Database, profile_a: int, profile_b: int, actor: str) -> int:
    """A person merges two profiles; the surviving id."""
    with db.transaction() as conn:
        return merging.merge_profiles(conn, profile_a, profile_b, actor)


def suggestions(
    db: Database, status: str | None = "pending", after: int = 0, limit: int = 50
) -> list[matching.Suggestion]:
    with db.read() as conn:
        return matching.list_suggestions(conn, status, after, max(1, min(limit, 500)))


def decide_suggestion(
    db: Database, suggestion_id: int, confirm: bool, actor: str
) -> matching.Suggestion:
    with db.transaction() as conn:
        return matching.decide(conn, suggestion_id, confirm, actor)


def get_rules(db: Database) -> MergeRules:
    with db.read() as conn:
        return identity.load_rules(conn)


def set_rules(db: Database, data: dict[str, Any]) -> MergeRules:
    """Replace the merge rules (fields left out keep their defaults)."""
    with db.transaction() as conn:
        return identity.save_rules(conn, data)


def profile_of_order(db: Database, order_id: int) -> int:
    """The surviving profile an order's customer resolved to."""
    with db.read() as conn:
        linked = conn.execute(select(O.profile_id).where(O.order_id == order_id)).scalar()
        if linked is None:
            raise NotFound(f"order {order_id} is not linked to a customer profile")
        return identity.canonical_profile_id(conn, int(linked))


def profile_summary(db: Database, profile_id: int) -> dict[str, Any]:
    """A profile's id, golden values and whether it was erased."""
    with db.read() as conn:
        survivor = identity.canonical_profile_id(conn, profile_id)
        row = conn.execute(select(P.golden, P.erased_at).where(P.id == survivor)).one()
        return {
            "id": survivor,
            "golden": {k: v.get("value") for k, v in (row.golden or {}).items()},
            "erased": row.erased_at is not None,
        }


# --- shared values and repair -----------------------------------------------------------


def shared_values(
    db: Database, status: str | None = None, limit: int = 100
) -> list[quarantine.SharedValue]:
    """Quarantined, released and blocked values with how many names and records hold them."""
    with db.read() as conn:
        return quarantine.list_values(conn, status, limit=limit)


def decide_shared_value(
    db: Database, kind: str, value: str, status: str, actor: str
) -> quarantine.SharedValue:
    """A person releases, blocks or quarantines a value (blocking undoes its merges,
    releasing puts back the merges a repair undid)."""
    with db.transaction() as conn:
        return quarantine.decide(conn, kind, value, status, actor)


def detect_shared_values(db: Database) -> list[quarantine.SharedValue]:
    """Quarantine the values of the whole store that fillers or too many names share, and
    the phone numbers of the retailer's own locations."""
    from channelhub.inventory.service import location_addresses

    with db.transaction() as conn:
        rules = identity.load_rules(conn)
        found = quarantine.seed_locations(conn, location_addresses(conn))
        return found + quarantine.detect(conn, rules)


def repair_profiles(db: Database, apply: bool, actor: str) -> quarantine.RepairPlan:
    """Profiles glued by a quarantined or blocked value: what would split (dry run), or
    split them through the link log (``apply``)."""
    with db.transaction() as conn:
        return quarantine.repair(conn, apply=apply, actor=actor)
