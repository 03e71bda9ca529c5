"""Identity resolution: the contract other parts of the hub build on.

Every function takes the caller's open transaction (``conn``) and never commits.

- ``resolve(conn, record) -> int`` ingests one channel's customer record (its identifiers and
  attributes) and returns the id of the profile it now belongs to, merging profiles that share
  a strong identifier (``resolve_record`` gives the full outcome: merges, refusals).
- ``canonical_profile_id(conn, profile_id) -> int`` follows redirects: a merged profile's id
  keeps working and leads to the surviving (oldest) profile.
- ``profile_members(conn, profile_id) -> list[int]`` lists every profile id that now resolves to
  the same profile (itself first), for reading data keyed by ids that were merged away.
- ``find_profile(conn, kind, value, channel="") -> int | None`` looks a profile up by one
  identifier, normalized the way ``resolve`` stores it.

Profile ids are stable: the oldest profile survives a merge, the others get ``merged_into``
set. Merges are rows of the append-only ``customer_links`` log; ``unmerge`` appends an
``unlink`` row and re-derives the profiles from the remaining links.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.core.database import utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.core.events import record_event
from channelhub.customers import quarantine, store
from channelhub.customers._sql import Sql
from channelhub.customers.model import (
    CustomerError,
    CustomerRecord,
    MergeRules,
    RecordSnapshot,
    birth_key,
    cap_violation,
    golden_add,
    golden_record,
    names_conflict,
    normalize_identifier,
    normalize_record,
    postcode_key,
    record_name_key,
)

RULES_SETTING = "merge_rules"
DEFAULT_RULES = MergeRules()


@dataclass
class Resolution:
    """What resolving one record did."""

    profile_id: int
    record_id: int
    created: bool
    merged: list[int] = field(default_factory=list)  # profile ids absorbed by this event
    refused: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "record_id": self.record_id,
            "created": self.created,
            "merged": self.merged,
            "refused": self.refused,
            "suggestions": self.suggestions,
        }


# --- merge rules --------------------------------------------------------------------------

_rules_cache: dict[str, MergeRules] = {}


def load_rules(conn: Connection) -> MergeRules:
    """The configured merge rules (the defaults until someone sets them)."""
    value = Sql(conn).scalar("SELECT value FROM customer_settings WHERE name = ?", (RULES_SETTING,))
    if value is None:
        return DEFAULT_RULES
    key = value if isinstance(value, str) else Sql.json(value)
    rules = _rules_cache.get(key)
    if rules is None:
        rules = MergeRules.from_dict(Sql.read_json(value))
        if len(_rules_cache) > 64:
            _rules_cache.clear()
        _rules_cache[key] = rules
    return rules


def save_rules(conn: Connection, data: dict[str, Any]) -> MergeRules:
    """Validate and store new merge rules; they apply to events from now on."""
    try:
        rules = MergeRules.from_dict(data)
    except CustomerError as error:
        raise InvalidInput(str(error)) from error
    upsert(conn, store.customer_settings, {"name": RULES_SETTING}, {"value": rules.as_dict()})
    return rules


def upsert(conn: Connection, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = {"updated_at": utcnow()} if "updated_at" in table.c else {}
    statement = dialect_insert(table).values(**key, **values, **now)
    conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_={**values, **now}))


# --- reading ------------------------------------------------------------------------------


def canonical_profile_id(conn: Connection, profile_id: int) -> int:
    """The surviving profile ``profile_id`` leads to (itself when it was never merged)."""
    sql = Sql(conn)
    current = profile_id
    for _ in range(64):
        row = sql.first("SELECT merged_into FROM customer_profiles WHERE id = ?", (current,))
        if row is None:
            raise NotFound(f"customer profile {profile_id} does not exist")
        if row[0] is None:
            return current
        current = int(row[0])
    raise Conflict(f"customer profile {profile_id}: redirect chain too long")


def profile_members(conn: Connection, profile_id: int) -> list[int]:
    """Every profile id that resolves to the same profile as ``profile_id``, survivor first."""
    survivor = canonical_profile_id(conn, profile_id)
    others = Sql(conn).rows(
        "SELECT id FROM customer_profiles WHERE merged_into = ? ORDER BY id", (survivor,)
    )
    return [survivor, *(int(o[0]) for o in others)]


def find_profile(conn: Connection, kind: str, value: str, channel: str = "") -> int | None:
    """The profile holding identifier ``kind``/``value`` (the oldest if several do), or None.

    Channel-scoped kinds (channel_customer, marketplace_buyer) take the channel either as
    ``channel`` or as a ``channel:id`` value.
    """
    if kind in ("channel_customer", "marketplace_buyer") and not channel and ":" in value:
        channel, value = value.split(":", 1)
    try:
        normalized = normalize_identifier(kind, value, channel, load_rules(conn).default_region)
    except CustomerError as error:
        raise InvalidInput(str(error)) from error
    found = Sql(conn).scalar(
        "SELECT min(r.profile_id) FROM customer_identifiers i "
        "JOIN customer_records r ON r.id = i.record_id WHERE i.kind = ? AND i.value = ?",
        (kind, normalized),
    )
    return None if found is None else int(found)


def profile_identifiers(conn: Connection, profile_ids: Sequence[int]) -> set[tuple[str, str]]:
    """The distinct identifiers of the records of ``profile_ids``."""
    marks = ", ".join("?" for _ in profile_ids)
    rows = Sql(conn).rows(
        "SELECT DISTINCT i.kind, i.value FROM customer_identifiers i "
        f"JOIN customer_records r ON r.id = i.record_id WHERE r.profile_id IN ({marks})",
        tuple(profile_ids),
    )
    return {(r[0], r[1]) for r in rows}


def snapshots(conn: Connection, profile_id: int) -> list[RecordSnapshot]:
    sql = Sql(conn)
    rows = sql.rows(
        "SELECT id, channel, source_ref, observed_at, seen_count, attributes "
        "FROM customer_records WHERE profile_id = ? AND erased_at IS NULL",
        (profile_id,),
    )
    return [
        RecordSnapshot(int(r[0]), r[1], r[2], sql.read_time(r[3]), int(r[4]), sql.read_json(r[5]))
        for r in rows
    ]


def refresh_golden(conn: Connection, profile_id: int) -> dict[str, Any]:
    """Recompute and store one surviving profile's golden record from its records."""
    golden = golden_record(snapshots(conn, profile_id))
    _store_golden(Sql(conn), profile_id, golden)
    return golden


def _store_golden(sql: Sql, profile_id: int, golden: dict[str, Any]) -> None:
    sql.run(
        "UPDATE customer_profiles SET golden = ?::jsonb, updated_at = ? WHERE id = ?",
        (sql.json(golden), sql.time(utcnow()), profile_id),
    )


# --- resolving ----------------------------------------------------------------------------


def resolve(conn: Connection, record: CustomerRecord) -> int:
    """Ingest one customer record and return the id of the profile it belongs to."""
    return resolve_record(conn, record).profile_id


def resolve_record(
    conn: Connection, record: CustomerRecord, rules: MergeRules | None = None
) -> Resolution:
    """Ingest one record: normalize it, attach it to the profile of a matching strong
    identifier (merging every other profile it bridges, oldest surviving), store its
    identifiers, refresh the golden record and look for probabilistic matches."""
    rules = rules or load_rules(conn)
    try:
        normalized = normalize_record(record, rules)
    except CustomerError as error:
        raise InvalidInput(str(error)) from error
    sql = Sql(conn)
    now = utcnow()
    observed = record.observed_at or now
    channel, source_ref = record.channel[:100], record.source_ref[:200]
    refusals: list[tuple[str, str, str, str, int | None]] = [
        (kind, raw, "invalid", why, None) for kind, raw, why in normalized.invalid
    ]

    if sql.is_pg:
        # Concurrent events naming the same record or identifier take turns (SQLite's write
        # transactions already do), so two first sightings of one e-mail make one profile.
        keys = {f"record:{channel}:{source_ref}", *(f"{k}:{v}" for k, v in normalized.identifiers)}
        for key in sorted(keys):
            sql.run("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))
    existing = sql.first(
        "SELECT id, profile_id FROM customer_records WHERE channel = ? AND source_ref = ?",
        (channel, source_ref),
    )
    own_profile = int(existing[1]) if existing else None
    record_id = int(existing[0]) if existing else None

    # Strong identifiers that are not blocked nor quarantined: the ones that may merge.
    held = quarantine.statuses(conn, normalized.identifiers)
    mergeable: list[tuple[str, str]] = []
    for kind, value in normalized.identifiers:
        if not rules.is_strong(kind):
            continue
        why_blocked = rules.blocked_reason(kind, value)
        if why_blocked is None and held.get((kind, value)) in quarantine.HELD:
            why_blocked = f"{kind} {value} is {held[(kind, value)]}: shared by many people"
        if why_blocked:
            refusals.append((kind, value, "blocked_value", why_blocked, own_profile))
            continue
        mergeable.append((kind, value))

    attributes = normalized.attributes
    name_key = record_name_key(attributes)
    holders = _holders(sql, mergeable, record_id)
    # A value now held by too many different names is quarantined (and the merges it made so
    # far are undone) before anything merges on it.
    quarantined: set[tuple[str, str]] = set()
    for (kind, value), (names, records) in _shared_counts(holders, name_key).items():
        if (
            kind in quarantine.SHARED_KINDS
            and held.get((kind, value)) != "released"
            and names >= rules.shared_value_limit(kind)
        ):
            quarantine.quarantine_detected(conn, kind, value, (names, records), rules)
            quarantined.add((kind, value))
            why = f"{kind} {value} is shared by {names} different names"
            refusals.append((kind, value, "blocked_value", why, None))
    if quarantined:
        mergeable = [k for k in mergeable if k not in quarantined]
        holders = _holders(sql, mergeable, record_id)  # the repair moved records
        if own_profile is not None:
            own_profile = int(
                sql.scalar("SELECT profile_id FROM customer_records WHERE id = ?", (record_id,))
            )

    own_values = set(normalized.identifiers)
    merged: list[int] = []
    links: list[tuple[int, int, int | None, str, str]] = []
    mine = (
        str(attributes.get("first_name") or ""),
        str(attributes.get("last_name") or ""),
        str(attributes.get("birth_date") or ""),
    )
    for profile_id, (kind, value, other_record) in sorted(_matches(holders, rules).items()):
        if profile_id == own_profile:
            continue
        theirs = _name(sql, profile_id)
        conflict = names_conflict(kind, mine, theirs, rules)
        if conflict is None and own_profile is not None:
            conflict = names_conflict(kind, _name(sql, own_profile), theirs, rules)
        if conflict:
            refusals.append((kind, value, "name_conflict", conflict, profile_id))
            continue
        if own_profile is None:
            # A record holding nothing the profile lacks cannot break a cap (the common case
            # of a known customer's next visit: no scan of a large profile's identifiers).
            held_there = {(h[0], h[1]) for h in holders if h[3] == profile_id}
            violation = (
                None
                if own_values <= held_there
                else cap_violation(profile_identifiers(conn, [profile_id]) | own_values, rules)
            )
            if violation:
                refusals.append((kind, value, *violation, profile_id))
                continue
            own_profile = profile_id
            links.append((other_record, profile_id, None, kind, value))
            continue
        violation = cap_violation(
            profile_identifiers(conn, [own_profile, profile_id]) | own_values, rules
        )
        if violation is None and is_kept_apart(conn, own_profile, profile_id):
            violation = ("unmerged", "a person unmerged these profiles; merge them by hand")
        if violation:
            refusals.append((kind, value, *violation, profile_id))
            continue
        survivor, absorbed = sorted((own_profile, profile_id))
        absorb(conn, survivor, absorbed)
        merged.append(absorbed)
        links.append((other_record, survivor, absorbed, kind, value))
        own_profile = survivor

    alone = own_profile is None
    if own_profile is None:
        own_profile = new_profile(conn, now)
    address = attributes.get("address") or {}
    block_postcode = postcode_key(address.get("postal_code", ""))
    block_birth = birth_key(attributes.get("birth_date", ""))
    if record_id is None:
        record_id = int(
            sql.scalar(
                "INSERT INTO customer_records (profile_id, home_profile_id, channel, source_ref, "
                "attributes, seen_count, observed_at, created_at, block_postcode, block_birth, "
                "name_key) VALUES (?, ?, ?, ?, ?::jsonb, 1, ?, ?, ?, ?, ?) RETURNING id",
                (
                    own_profile,
                    own_profile,
                    channel,
                    source_ref,
                    sql.json(attributes),
                    sql.time(observed),
                    sql.time(now),
                    block_postcode,
                    block_birth,
                    name_key,
                ),
            )
        )
    else:
        sql.run(
            "UPDATE customer_records SET attributes = ?::jsonb, seen_count = seen_count + 1, "
            "observed_at = ?, erased_at = NULL, block_postcode = ?, block_birth = ?, "
            "name_key = ? WHERE id = ?",
            (
                sql.json(attributes),
                sql.time(observed),
                block_postcode,
                block_birth,
                name_key,
                record_id,
            ),
        )
    add_identifiers(conn, record_id, normalized.identifiers, now)
    sql.run_many(
        "INSERT INTO customer_links (action, record_id, other_record_id, profile_id, "
        "merged_profile_id, method, identifier_kind, identifier_value, reason, actor, "
        "created_at) VALUES ('link', ?, ?, ?, ?, 'deterministic', ?, ?, ?, 'resolver', ?)",
        [
            (
                record_id,
                other,
                survivor,
                absorbed,
                kind,
                value,
                f"shares {kind} {value}"[:500],
                sql.time(now),
            )
            for other, survivor, absorbed, kind, value in links
        ],
    )
    refused = [
        record_refusal(conn, record_id, profile, kind, value, rule, detail)
        for kind, value, rule, detail, profile in refusals
    ]
    if merged:
        record_event(
            conn,
            "customers.profile_merged",
            str(own_profile),
            {"profile_id": own_profile, "merged": merged},
        )
    snapshot = RecordSnapshot(record_id, channel, source_ref, observed, 1, attributes)
    if alone:
        # A new profile of one record: its golden record is that record's values.
        _store_golden(sql, own_profile, golden_record([snapshot]))
    else:
        # A new record joining one profile updates its golden record in place (the cost
        # does not grow with the profile); merges and updated records recompute it.
        current = None if merged or existing else _golden(sql, own_profile)
        golden = None if current is None else golden_add(current, snapshot)
        if golden is None:
            refresh_golden(conn, own_profile)
        else:
            _store_golden(sql, own_profile, golden)
    result = Resolution(own_profile, record_id, existing is None, merged, refused)
    if rules.suggest and (block_postcode or block_birth):
        from channelhub.customers.matching import suggest_for_record

        result.suggestions = suggest_for_record(conn, record_id, rules)
        if result.suggestions:
            result.profile_id = canonical_profile_id(conn, own_profile)
    return result


def _golden(sql: Sql, profile_id: int) -> dict[str, Any]:
    value = sql.scalar("SELECT golden FROM customer_profiles WHERE id = ?", (profile_id,))
    return dict(sql.read_json(value or "{}"))


def _name(sql: Sql, profile_id: int) -> tuple[str, str, str]:
    """A profile's (first name, last name, birth date) as its golden record has them."""
    golden = sql.read_json(
        sql.scalar("SELECT golden FROM customer_profiles WHERE id = ?", (profile_id,)) or "{}"
    )
    return (
        str((golden.get("first_name") or {}).get("value") or ""),
        str((golden.get("last_name") or {}).get("value") or ""),
        str((golden.get("birth_date") or {}).get("value") or ""),
    )


#: ``(kind, value, first record id, profile id, name key, records)``: the records of one
#: profile and one name holding an identifier, grouped (a profile of 500 store visits with
#: one e-mail address is one row).
Holder = tuple[str, str, int, int, str | None, int]


def _holders(
    sql: Sql, identifiers: Sequence[tuple[str, str]], record_id: int | None
) -> list[Holder]:
    """The other records holding each of ``identifiers``, grouped by profile and name,
    oldest first."""
    if not identifiers:
        return []
    where = " OR ".join("(i.kind = ? AND i.value = ?)" for _ in identifiers)
    params: list[Any] = [part for pair in identifiers for part in pair]
    rows = sql.rows(
        "SELECT i.kind, i.value, MIN(r.id), r.profile_id, r.name_key, COUNT(*) "
        "FROM customer_identifiers i JOIN customer_records r ON r.id = i.record_id "
        f"WHERE ({where}) AND r.id <> ? GROUP BY i.kind, i.value, r.profile_id, r.name_key "
        "ORDER BY 3",
        [*params, record_id or 0],
    )
    return [(r[0], r[1], int(r[2]), int(r[3]), r[4], int(r[5])) for r in rows]


def _shared_counts(
    holders: Sequence[Holder], own_name: str | None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(different names, records) per identifier, this record included."""
    names: dict[tuple[str, str], set[str]] = {}
    records: dict[tuple[str, str], int] = {}
    for kind, value, _, _, name, count in holders:
        key = (kind, value)
        records[key] = records.get(key, 0) + count
        seen = names.setdefault(key, set())
        if name:
            seen.add(name)
    return {
        key: (len(seen | ({own_name} if own_name else set())), records[key] + 1)
        for key, seen in names.items()
    }


def _matches(holders: Sequence[Holder], rules: MergeRules) -> dict[int, tuple[str, str, int]]:
    """For each profile holding one of the identifiers: the identifier and record to link
    through (the first seen, preferring kinds that need no name check)."""
    found: dict[int, tuple[str, str, int]] = {}
    checked = rules.name_checked_kinds
    for kind, value, other, profile, _, _ in holders:
        current = found.get(profile)
        if current is None or (current[0] in checked and kind not in checked):
            found[profile] = (kind, value, other)
    return found


def add_identifiers(
    conn: Connection, record_id: int, identifiers: Iterable[tuple[str, str]], now: datetime
) -> None:
    sql = Sql(conn)
    sql.run_many(
        "INSERT INTO customer_identifiers (record_id, kind, value, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (record_id, kind, value) DO NOTHING",
        [(record_id, kind, value, sql.time(now)) for kind, value in identifiers],
    )


def new_profile(conn: Connection, now: datetime | None = None) -> int:
    sql = Sql(conn)
    moment = sql.time(now or utcnow())
    return int(
        sql.scalar(
            "INSERT INTO customer_profiles (created_at, updated_at, golden) "
            "VALUES (?, ?, ?::jsonb) RETURNING id",
            (moment, moment, "{}"),
        )
    )


def absorb(conn: Connection, survivor: int, absorbed: int) -> None:
    """Move ``absorbed``'s records to ``survivor`` and redirect it (and whatever redirected to
    it) there, so every redirect is one hop."""
    sql = Sql(conn)
    sql.run("UPDATE customer_records SET profile_id = ? WHERE profile_id = ?", (survivor, absorbed))
    sql.run(
        "UPDATE customer_profiles SET merged_into = ?, updated_at = ? "
        "WHERE id = ? OR merged_into = ?",
        (survivor, sql.time(utcnow()), absorbed, absorbed),
    )


def is_kept_apart(conn: Connection, profile_a: int, profile_b: int) -> bool:
    """Whether an unmerge separated records that now sit in ``profile_a`` and ``profile_b``."""
    found = Sql(conn).first(
        "SELECT l.id FROM customer_links l "
        "JOIN customer_records ra ON ra.id = l.record_id "
        "JOIN customer_records rb ON rb.id = l.other_record_id "
        "WHERE l.action = 'unlink' AND l.method <> 'repair' "
        "AND ((ra.profile_id = ? AND rb.profile_id = ?) "
        "OR (ra.profile_id = ? AND rb.profile_id = ?)) LIMIT 1",
        (profile_a, profile_b, profile_b, profile_a),
    )
    return found is not None


def record_refusal(
    conn: Connection,
    record_id: int | None,
    profile_id: int | None,
    kind: str,
    value: str,
    rule: str,
    detail: str,
) -> dict[str, Any]:
    """Keep what a guard refused, and why; returns it for the caller's report."""
    sql = Sql(conn)
    sql.run(
        "INSERT INTO customer_refusals (record_id, profile_id, kind, value, rule, detail, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (record_id, profile_id, kind[:30], value[:320], rule, detail[:500], sql.time(utcnow())),
    )
    return {
        "record_id": record_id,
        "profile_id": profile_id,
        "kind": kind,
        "value": value,
        "rule": rule,
        "detail": detail,
    }


__all__ = [
    "Resolution",
    "canonical_profile_id",
    "find_profile",
    "load_rules",
    "profile_members",
    "refresh_golden",
    "resolve",
    "resolve_record",
    "save_rules",
]
