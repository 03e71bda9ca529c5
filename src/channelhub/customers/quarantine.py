"""Shared values: an e-mail, phone, card or device that many different people share is
quarantined and never merges profiles on its own; ``repair`` unmerges the profiles such a
value already glued, through the link log, and ``release`` puts them back.

A value is quarantined when records of ``MergeRules.shared_value_limit(kind)`` different
names (``names.name_key``) hold it: at once while events arrive (``resolve_record``), at the
end of a batch load, or by ``detect`` over a store loaded under older rules. Known fillers
(``placeholders``) and the retailer's own numbers never merge whatever the count. A person
lists the values with their counts and releases (merge again under the usual rules; not
quarantined again automatically) or blocks (never merge) each one.

Every function takes the caller's open transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from channelhub.core.database import utcnow
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.core.events import record_event
from channelhub.customers._sql import Sql
from channelhub.customers.model import (
    CustomerError,
    IdentifierKind,
    MergeRules,
    components,
    normalize_identifier,
    record_name_key,
)

K = IdentifierKind
#: Kinds a household or a till shares; channel-scoped ids belong to one account.
SHARED_KINDS = frozenset({K.EMAIL, K.PHONE, K.LOYALTY_CARD, K.DEVICE})
#: Statuses that keep a value from merging.
HELD = frozenset({"quarantined", "blocked"})
STATUSES = ("quarantined", "released", "blocked")
#: Link methods of the repair's own unlinks (they do not keep profiles apart for ever).
REPAIR = "repair"


@dataclass(frozen=True)
class SharedValue:
    kind: str
    value: str
    status: str
    source: str
    names: int
    records: int
    reason: str
    decided_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "status": self.status,
            "source": self.source,
            "names": self.names,
            "records": self.records,
            "reason": self.reason,
            "decided_by": self.decided_by,
        }


@dataclass
class RepairPlan:
    """The links a repair undoes, and the profiles they split."""

    links: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[int, int] = field(default_factory=dict)  # profile -> parts after repair
    applied: bool = False
    result_profiles: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "links": self.links,
            "profiles": [{"profile_id": p, "parts": n} for p, n in sorted(self.profiles.items())],
            "applied": self.applied,
            "result_profiles": self.result_profiles,
        }


# --- reading ------------------------------------------------------------------------------


def statuses(
    conn: Connection, identifiers: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The shared-value status of each of ``identifiers`` that has one."""
    keys = [k for k in identifiers if k[0] in SHARED_KINDS]
    if not keys:
        return {}
    where = " OR ".join("(kind = ? AND value = ?)" for _ in keys)
    rows = Sql(conn).rows(
        f"SELECT kind, value, status FROM customer_shared_values WHERE {where}",
        [part for key in keys for part in key],
    )
    return {(r[0], r[1]): r[2] for r in rows}


def list_values(
    conn: Connection, status: str | None = None, after: tuple[str, str] = ("", ""), limit: int = 100
) -> list[SharedValue]:
    """Shared values by most names first (optionally of one status)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    sql = Sql(conn)
    where, params = "", []
    if status is not None:
        where, params = "WHERE status = ?", [status]
    rows = sql.rows(
        "SELECT kind, value, status, source, names, records, reason, decided_by "
        f"FROM customer_shared_values {where} ORDER BY names DESC, records DESC, kind, value "
        f"LIMIT {int(limit)}",
        params,
    )
    return [SharedValue(*r) for r in rows]


def get_value(conn: Connection, kind: str, value: str) -> SharedValue:
    row = Sql(conn).first(
        "SELECT kind, value, status, source, names, records, reason, decided_by "
        "FROM customer_shared_values WHERE kind = ? AND value = ?",
        (kind, value),
    )
    if row is None:
        raise NotFound(f"{kind} {value!r} is not a shared value")
    return SharedValue(*row)


def count_holders(conn: Connection, kind: str, value: str) -> tuple[int, int]:
    """(different names, records) among the records holding ``kind``/``value``."""
    row = Sql(conn).first(
        "SELECT COUNT(DISTINCT r.name_key), COUNT(*) FROM customer_identifiers i "
        "JOIN customer_records r ON r.id = i.record_id WHERE i.kind = ? AND i.value = ?",
        (kind, value),
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


# --- writing ------------------------------------------------------------------------------


def mark(
    conn: Connection,
    kind: str,
    value: str,
    status: str,
    source: str,
    reason: str,
    actor: str | None = None,
    counts: tuple[int, int] | None = None,
) -> SharedValue:
    """Set a value's status (insert or update), with its current counts."""
    sql = Sql(conn)
    names, records = counts if counts is not None else count_holders(conn, kind, value)
    now = sql.time(utcnow())
    exists = sql.first(
        "SELECT status FROM customer_shared_values WHERE kind = ? AND value = ?", (kind, value)
    )
    if exists:
        sql.run(
            "UPDATE customer_shared_values SET status = ?, source = ?, names = ?, records = ?, "
            "reason = ?, decided_by = ?, updated_at = ? WHERE kind = ? AND value = ?",
            (status, source, names, records, reason[:500], actor, now, kind, value),
        )
    else:
        sql.run(
            "INSERT INTO customer_shared_values (kind, value, status, source, names, records, "
            "reason, decided_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, value, status, source, names, records, reason[:500], actor, now, now),
        )
    return SharedValue(kind, value, status, source, names, records, reason[:500], actor)


def quarantine_detected(
    conn: Connection, kind: str, value: str, counts: tuple[int, int], rules: MergeRules
) -> SharedValue:
    """Quarantine a value found shared by too many names, and undo the merges it made."""
    shared = mark(
        conn,
        kind,
        value,
        "quarantined",
        "detected",
        f"held by {counts[0]} different names (limit {rules.shared_value_limit(kind)})",
        counts=counts,
    )
    repair(conn, [(kind, value)], apply=True, actor="quarantine")
    record_event(conn, "customers.value_quarantined", f"{kind}:{value}", shared.as_dict())
    return shared


def decide(conn: Connection, kind: str, raw_value: str, status: str, actor: str) -> SharedValue:
    """A person releases or blocks (or quarantines) a value. Blocking undoes the merges the
    value made; releasing puts back the merges a repair undid."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    value = _normalized(conn, kind, raw_value)
    shared = mark(conn, kind, value, status, "person", f"{status} by {actor}", actor=actor)
    if status in HELD:
        repair(conn, [(kind, value)], apply=True, actor=actor)
    else:
        restore(conn, kind, value, actor)
    record_event(conn, f"customers.value_{status}", f"{kind}:{value}", shared.as_dict())
    return shared


def _normalized(conn: Connection, kind: str, raw: str) -> str:
    from channelhub.customers.identity import load_rules

    if kind not in SHARED_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(sorted(SHARED_KINDS))}, not {kind!r}")
    try:
        return normalize_identifier(kind, raw, region=load_rules(conn).default_region)
    except CustomerError as error:
        raise InvalidInput(str(error)) from error


def fill_name_keys(conn: Connection) -> int:
    """Give records stored before names were counted their name key; how many were given."""
    sql = Sql(conn)
    rows = sql.rows("SELECT id, attributes FROM customer_records WHERE name_key IS NULL")
    updates = [
        (key, int(r[0])) for r in rows if (key := record_name_key(sql.read_json(r[1]))) is not None
    ]
    sql.run_many("UPDATE customer_records SET name_key = ? WHERE id = ?", updates)
    return len(updates)


def detect(conn: Connection, rules: MergeRules) -> list[SharedValue]:
    """Quarantine every value of the store that is a known filler, one of the retailer's own,
    or held by too many different names (values a person decided on are left alone). The
    values newly quarantined; their merges are not undone here (see ``repair``)."""
    sql = Sql(conn)
    fill_name_keys(conn)
    decided = {(r[0], r[1]) for r in sql.rows("SELECT kind, value FROM customer_shared_values")}
    low = min([rules.shared_value_names, *rules.shared_value_limits.values()])
    kinds = sorted(SHARED_KINDS)
    marks = ", ".join("?" for _ in kinds)
    rows = sql.rows(
        "SELECT i.kind, i.value, COUNT(DISTINCT r.name_key), COUNT(*) "
        "FROM customer_identifiers i JOIN customer_records r ON r.id = i.record_id "
        f"WHERE i.kind IN ({marks}) GROUP BY i.kind, i.value "
        "HAVING COUNT(DISTINCT r.name_key) >= ? OR COUNT(*) >= ?",
        [*kinds, low, low],
    )
    found: list[SharedValue] = []
    for kind, value, names, records in rows:
        if (kind, value) in decided:
            continue
        names, records = int(names), int(records)
        why = rules.blocked_reason(kind, value)
        if why is None and names < rules.shared_value_limit(kind):
            continue
        source = "placeholder" if why else "detected"
        reason = why or f"held by {names} different names"
        found.append(
            mark(conn, kind, value, "quarantined", source, reason, counts=(names, records))
        )
    return found


def seed_locations(conn: Connection, addresses: Sequence[dict[str, Any]]) -> list[SharedValue]:
    """Quarantine the phone numbers of the retailer's own locations (``phone`` in a location's
    address), so a till that types its store's number glues nobody."""
    from channelhub.customers.identity import load_rules

    region = load_rules(conn).default_region
    found: list[SharedValue] = []
    for address in addresses:
        phone = str(address.get("phone") or "")
        if not phone:
            continue
        try:
            country = str(address.get("country") or region)
            value = normalize_identifier(K.PHONE, phone, region=country)
        except CustomerError:
            continue
        if statuses(conn, [(K.PHONE, value)]):
            continue
        found.append(mark(conn, K.PHONE, value, "quarantined", "location", "a store's own number"))
    return found


# --- repair -------------------------------------------------------------------------------


def held_values(conn: Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in Sql(conn).rows(
            "SELECT kind, value FROM customer_shared_values WHERE status IN ('quarantined', "
            "'blocked') ORDER BY kind, value"
        )
    ]


def repair(
    conn: Connection,
    values: Sequence[tuple[str, str]] | None = None,
    apply: bool = False,
    actor: str = "repair",
) -> RepairPlan:
    """Find the active merges made through ``values`` (default: every quarantined or blocked
    value) and, with ``apply``, undo them through the link log and re-derive the profiles.
    Without ``apply`` nothing is written: the plan says what would split."""
    from channelhub.customers.merging import rederive

    sql = Sql(conn)
    targets = list(values) if values is not None else held_values(conn)
    plan = RepairPlan()
    if not targets:
        return plan
    links: list[tuple[int, int, int, str, str, int]] = []
    for start in range(0, len(targets), 200):
        part = targets[start : start + 200]
        where = " OR ".join("(l.identifier_kind = ? AND l.identifier_value = ?)" for _ in part)
        links.extend(
            (int(r[0]), int(r[1]), int(r[2]), r[3], r[4], int(r[5]))
            for r in sql.rows(
                "SELECT l.id, l.record_id, l.other_record_id, l.identifier_kind, "
                "l.identifier_value, r.profile_id FROM customer_links l "
                "JOIN customer_records r ON r.id = l.record_id "
                f"WHERE l.action = 'link' AND ({where}) AND NOT EXISTS "
                "(SELECT 1 FROM customer_links u WHERE u.undoes = l.id) ORDER BY l.id",
                [p for key in part for p in key],
            )
        )
    if not links:
        return plan
    undone = {link[0] for link in links}
    for link_id, record_id, other, kind, value, profile in links:
        plan.links.append(
            {
                "link_id": link_id,
                "record_id": record_id,
                "other_record_id": other,
                "kind": kind,
                "value": value,
                "profile_id": profile,
            }
        )
        plan.profiles.setdefault(profile, 0)
    for profile in plan.profiles:
        plan.profiles[profile] = len(_parts_without(sql, profile, undone))
    if not apply:
        return plan
    now = utcnow()
    sql.run_many(
        "INSERT INTO customer_links (action, record_id, other_record_id, profile_id, "
        "merged_profile_id, method, identifier_kind, identifier_value, reason, undoes, actor, "
        "created_at) VALUES ('unlink', ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                record_id,
                other,
                profile,
                REPAIR,
                kind,
                value,
                f"{kind} {value} is quarantined"[:500],
                link_id,
                actor[:200],
                sql.time(now),
            )
            for link_id, record_id, other, kind, value, profile in links
        ],
    )
    for profile in sorted(plan.profiles):
        plan.result_profiles.extend(rederive(conn, profile, now))
    plan.applied = True
    record_event(
        conn,
        "customers.profiles_repaired",
        "repair",
        {"links": len(links), "profiles": sorted(plan.profiles), "actor": actor},
    )
    return plan


def _parts_without(sql: Sql, profile_id: int, undone: set[int]) -> list[list[int]]:
    members = [
        int(r[0])
        for r in sql.rows("SELECT id FROM customer_records WHERE profile_id = ?", (profile_id,))
    ]
    member_set = set(members)
    edges = [
        (int(r[1]), int(r[2]))
        for r in sql.rows(
            "SELECT l.id, l.record_id, l.other_record_id FROM customer_links l "
            "JOIN customer_records r ON r.id = l.record_id WHERE r.profile_id = ? "
            "AND l.action = 'link' AND NOT EXISTS "
            "(SELECT 1 FROM customer_links u WHERE u.undoes = l.id)",
            (profile_id,),
        )
        if int(r[0]) not in undone and int(r[2]) in member_set
    ]
    return components(members, edges)


def restore(conn: Connection, kind: str, value: str, actor: str) -> list[int]:
    """Put back the merges a repair undid for ``kind``/``value``; the new link ids."""
    from channelhub.customers.merging import link_records

    sql = Sql(conn)
    rows = sql.rows(
        "SELECT u.id, u.record_id, u.other_record_id FROM customer_links u "
        "WHERE u.action = 'unlink' AND u.method = ? AND u.identifier_kind = ? "
        "AND u.identifier_value = ? ORDER BY u.id",
        (REPAIR, kind, value),
    )
    restored: list[int] = []
    for unlink_id, record_id, other in rows:
        already = sql.first(
            "SELECT id FROM customer_links WHERE action = 'link' AND method = 'restored' "
            "AND reason = ?",
            (f"restores unlink {unlink_id}",),
        )
        if already:
            continue
        link_id = link_records(
            conn,
            int(record_id),
            int(other),
            "restored",
            f"restores unlink {unlink_id}",
            actor,
            identifier=(kind, value),
        )
        if link_id is not None:
            restored.append(link_id)
    return restored


__all__ = [
    "SHARED_KINDS",
    "RepairPlan",
    "SharedValue",
    "count_holders",
    "decide",
    "detect",
    "fill_name_keys",
    "list_values",
    "repair",
    "restore",
    "seed_locations",
    "statuses",
]
