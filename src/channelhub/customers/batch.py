"""Batch identity resolution: a whole customer base loaded at once.

Records are normalized in worker processes (e-mail and phone parsing is the costly part), the
identity graph is built in memory with union-find in the main process, and rows go to the
database with the driver's ``executemany`` (as ``core.bulk`` does), chunk by chunk. The same
rules as the incremental path apply (strong kinds, blocked values, per-kind caps and the
maximum of identifiers per profile), so a batch load and the same records fed one by one give
the same profiles. A record's id is its position in the stream and a profile's id is the id of
the record that founded it, so the oldest profile survives merges here too.

The batch path loads an empty identity store (the first load or a rebuild); on a store that
already holds records, records are resolved incrementally instead (``import_records``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from itertools import islice
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import Index
from sqlalchemy.engine import Connection

from channelhub.core.bulk import BulkInsert
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict
from channelhub.core.events import record_event
from channelhub.customers import quarantine, store
from channelhub.customers._sql import Sql
from channelhub.customers.identity import load_rules, resolve_record
from channelhub.customers.model import (
    Address,
    CustomerError,
    CustomerRecord,
    IdentifierKind,
    MergeRules,
    RecordSnapshot,
    birth_key,
    golden_of_one,
    golden_record,
    names_conflict,
    normalize_record,
    postcode_key,
    record_name_key,
)

KINDS = [k.value for k in IdentifierKind]
#: How UtcDateTime stores a time on SQLite (see core.bulk).
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
TOTAL = len(KINDS)  # the slot of a profile's identifier count holding the total


@dataclass
class BatchResult:
    records: int = 0
    profiles: int = 0
    merges: int = 0
    refused: int = 0
    invalid: int = 0
    quarantined: int = 0
    #: The final profile id of each record, in input order (only when asked for).
    profile_of_record: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "records": self.records,
            "profiles": self.profiles,
            "merges": self.merges,
            "refused": self.refused,
            "invalid": self.invalid,
            "quarantined": self.quarantined,
        }


_FIELDS = tuple(f.name for f in fields(CustomerRecord) if f.name != "address")
_ADDRESS_FIELDS = tuple(f.name for f in fields(Address))


_record_values = attrgetter(*_FIELDS)
_address_values = attrgetter(*_ADDRESS_FIELDS)


def _flat(record: CustomerRecord) -> tuple[Any, ...]:
    """A record as a plain tuple: far cheaper to send to a worker than the dataclass."""
    return (*_record_values(record), _address_values(record.address))


def _unflat(values: tuple[Any, ...]) -> CustomerRecord:
    return CustomerRecord(
        **dict(zip(_FIELDS, values[:-1], strict=True)),
        address=Address(*values[-1]),
    )


def _prepare_chunk(
    args: tuple[int, Sequence[tuple[Any, ...]], MergeRules, datetime, bool],
) -> list[Any]:
    """Normalize a chunk of records whose first id is ``start`` (runs in a worker)."""
    start, flat_records, rules, now, is_pg = args
    out: list[Any] = []
    for offset, flat in enumerate(flat_records):
        record = _unflat(flat)
        try:
            normalized = normalize_record(record, rules)
        except CustomerError as error:
            out.append(str(error))
            continue
        attributes = normalized.attributes
        observed = record.observed_at or now
        snapshot = RecordSnapshot(
            start + offset, record.channel, record.source_ref, observed, 1, attributes
        )
        address = attributes.get("address") or {}
        out.append(
            (
                record.channel[:100],
                record.source_ref[:200],
                normalized.identifiers,
                orjson.dumps(attributes).decode(),
                orjson.dumps(golden_of_one(snapshot)).decode(),
                normalized.invalid,
                observed if is_pg else observed.astimezone(UTC).strftime(SQLITE_TIME),
                postcode_key(address.get("postal_code", "")),
                birth_key(attributes.get("birth_date", "")),
                (
                    str(attributes.get("first_name") or ""),
                    str(attributes.get("last_name") or ""),
                    str(attributes.get("birth_date") or ""),
                ),
                record_name_key(attributes),
            )
        )
    return out


def _chunks(records: Iterable[CustomerRecord], size: int) -> Iterator[list[CustomerRecord]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Graph:
    """The in-memory identity graph: union-find over record ids (index = id), each
    component's identifiers (for the caps), and which records hold each identifier: the first
    one, plus any that ended up in another component because a guard kept them apart."""

    def __init__(self, rules: MergeRules) -> None:
        self.rules = rules
        self.parent: list[int] = [0]  # ids start at 1
        self.keys: dict[int, set[tuple[str, str]]] = {}
        self.index: dict[tuple[str, str], int] = {}  # identifier -> first record holding it
        self.elsewhere: dict[tuple[str, str], list[int]] = {}
        #: Each component's latest (first, last) name, with the id of the record that gave it.
        self.name: dict[int, tuple[int, tuple[str, str, str]]] = {}
        #: Each record's name key (index = id), and the different names holding a value when
        #: there are more than one.
        self.name_keys: list[str | None] = [None]
        self.value_names: dict[tuple[str, str], set[str]] = {}
        #: Values found shared by too many names during this load.
        self.quarantined: set[tuple[str, str]] = set()
        self.caps = [rules.identifier_caps.get(k, 1 << 30) for k in KINDS]

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def fits(self, keys: set[tuple[str, str]]) -> tuple[str, str] | None:
        counts = [0] * (TOTAL + 1)
        for kind, _ in keys:
            counts[KIND_INDEX[kind]] += 1
        counts[TOTAL] = len(keys)
        if counts[TOTAL] > self.rules.max_identifiers_per_profile:
            return (
                "profile_size",
                f"{counts[TOTAL]} identifiers would exceed the maximum of "
                f"{self.rules.max_identifiers_per_profile} per profile",
            )
        for i, cap in enumerate(self.caps):
            if counts[i] > cap:
                return (
                    "identifier_cap",
                    f"{counts[i]} {KINDS[i]} values would exceed the cap of {cap}",
                )
        return None


def resolve_batch(
    db: Database,
    records: Iterable[CustomerRecord],
    rules: MergeRules | None = None,
    workers: int = 2,
    chunk_size: int = 20_000,
    keep_assignment: bool = False,
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Resolve a whole stream of records into an empty identity store; the counts (and, with
    ``keep_assignment``, each record's final profile id for checking against a truth)."""
    with db.transaction() as conn:
        sql = Sql(conn)
        if sql.first("SELECT id FROM customer_records LIMIT 1") is not None:
            raise Conflict(
                "the batch path loads an empty customer store; import into an existing one "
                "resolves each record incrementally"
            )
        rules = rules or load_rules(conn)
        result = _run(conn, records, rules, workers, chunk_size, keep_assignment, progress)
        record_event(conn, "customers.batch_resolved", "batch", result.as_dict())
        return result


def _run(
    conn: Connection,
    records: Iterable[CustomerRecord],
    rules: MergeRules,
    workers: int,
    chunk_size: int,
    keep_assignment: bool,
    progress: Callable[[int], None] | None,
) -> BatchResult:
    sql = Sql(conn)
    now = utcnow()
    now_text = sql.time(now)
    graph = _Graph(rules)
    result = BatchResult()
    home: list[int] = [0]  # the profile each record was first placed in
    inserts = {
        "identifiers": BulkInsert(
            conn, store.customer_identifiers, ("record_id", "kind", "value", "created_at")
        ),
        "links": BulkInsert(
            conn,
            store.customer_links,
            (
                "action",
                "record_id",
                "other_record_id",
                "profile_id",
                "merged_profile_id",
                "method",
                "identifier_kind",
                "identifier_value",
                "reason",
                "actor",
                "created_at",
            ),
        ),
        "refusals": BulkInsert(
            conn,
            store.customer_refusals,
            ("record_id", "profile_id", "kind", "value", "rule", "detail", "created_at"),
        ),
    }
    profile_sql = sql.text(
        "INSERT INTO customer_profiles (id, created_at, updated_at, golden) "
        "VALUES (?, ?, ?, ?::jsonb)"
    )
    record_sql = sql.text(
        "INSERT INTO customer_records (id, profile_id, home_profile_id, channel, source_ref, "
        "attributes, seen_count, observed_at, created_at, block_postcode, block_birth, "
        "name_key) VALUES (?, ?, ?, ?, ?, ?::jsonb, 1, ?, ?, ?, ?, ?)"
    )
    seen_refs: set[tuple[str, str]] = set()
    checked = rules.name_checked_kinds
    shared_kinds = quarantine.SHARED_KINDS
    decided = {
        (r[0], r[1]): r[2]
        for r in sql.rows("SELECT kind, value, status FROM customer_shared_values")
    }
    limits = {kind: rules.shared_value_limit(kind) for kind in KINDS}

    def chunks() -> Iterator[list[Any]]:
        jobs = (
            (s, [_flat(r) for r in c], rules, now, sql.is_pg)
            for s, c in _numbered(_chunks(records, chunk_size))
        )
        if workers <= 1:
            for job in jobs:
                yield _prepare_chunk(job)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # A bounded number of chunks in flight keeps memory flat however long the stream.
            pending: deque[Future[list[Any]]] = deque()
            for job in jobs:
                pending.append(pool.submit(_prepare_chunk, job))
                if len(pending) > workers * 2:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    absorbed_at_end: dict[int, int] = {}
    # Secondary indexes are built once at the end (a sort) rather than row by row.
    dropped = _drop_indexes(conn)
    next_id = 1
    for prepared in chunks():
        profiles: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        identifiers: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        refusals: list[tuple[Any, ...]] = []
        for item in prepared:
            record_id = next_id
            next_id += 1
            graph.parent.append(record_id)
            graph.name_keys.append(None)
            home.append(0)
            if isinstance(item, str):  # a record that could not be read at all
                result.invalid += 1
                graph.parent[record_id] = record_id
                home[record_id] = 0
                continue
            (
                channel,
                ref,
                idents,
                attributes,
                golden,
                invalid,
                observed,
                postcode,
                birth,
                name,
                name_key,
            ) = item
            if (channel, ref) in seen_refs:
                raise Conflict(f"record {channel}:{ref} appears twice in one batch")
            seen_refs.add((channel, ref))
            graph.name_keys[record_id] = name_key
            result.records += 1
            for kind, raw, why in invalid:
                refusals.append((record_id, None, kind[:30], raw[:320], "invalid", why[:500], now))
                result.invalid += 1
            own_keys = set(idents)
            candidates: dict[int, tuple[str, str, int]] = {}
            fresh: list[tuple[str, str]] = []
            held: list[tuple[str, str]] = []
            for kind, value in idents:
                key = (kind, value)
                first = graph.index.get(key)
                strong = rules.is_strong(kind)
                blocked = rules.blocked_reason(kind, value) if strong else None
                if strong and not blocked and kind in shared_kinds:
                    blocked = _shared(graph, key, first, name_key, decided, limits[kind])
                if blocked:
                    refusals.append((record_id, None, kind, value, "blocked_value", blocked, now))
                    result.refused += 1
                if first is None:
                    fresh.append(key)
                    continue
                held.append(key)
                if blocked or not strong:
                    continue
                for holder in (first, *graph.elsewhere.get(key, ())):
                    root = graph.find(holder)
                    current = candidates.get(root)
                    if current is None or (current[0] in checked and kind not in checked):
                        candidates[root] = (kind, value, holder)
            own: int | None = None
            for root in sorted(candidates):
                kind, value, first = candidates[root]
                root = graph.find(root)
                if root == own:
                    continue
                theirs = graph.name.get(root, (0, ("", "", "")))[1]
                conflict = names_conflict(kind, name, theirs, rules)
                if conflict is None and own is not None:
                    mine = graph.name.get(own, (0, ("", "", "")))[1]
                    conflict = names_conflict(kind, mine, theirs, rules)
                if conflict:
                    refusals.append((record_id, root, kind, value, "name_conflict", conflict, now))
                    result.refused += 1
                    continue
                union = graph.keys[root] | (own_keys if own is None else graph.keys[own])
                violation = graph.fits(union)
                if violation:
                    refusals.append((record_id, root, kind, value, *violation, now))
                    result.refused += 1
                    continue
                absorbed: int | None = None
                if own is None:
                    own = root
                else:
                    own, absorbed = (own, root) if own < root else (root, own)
                    graph.parent[absorbed] = own
                    del graph.keys[absorbed]
                    latest = max(
                        graph.name.pop(absorbed, (0, ("", "", ""))),
                        graph.name.get(own, (0, ("", "", ""))),
                    )
                    if any(latest[1]):
                        graph.name[own] = latest
                    absorbed_at_end[absorbed] = own
                    result.merges += 1
                graph.keys[own] = union
                links.append(
                    (
                        "link",
                        record_id,
                        first,
                        own,
                        absorbed,
                        "deterministic",
                        kind,
                        value,
                        f"shares {kind} {value}"[:500],
                        "batch",
                        now,
                    )
                )
            if own is None:
                own = record_id
                graph.keys[own] = own_keys
                profiles.append((own, now_text, now_text, golden))
                result.profiles += 1
            else:
                graph.parent[record_id] = own
            if any(name):
                # Like the golden record: the newest non-empty value of each part.
                before = graph.name.get(own, (0, ("", "", "")))[1]
                graph.name[own] = (
                    record_id,
                    (name[0] or before[0], name[1] or before[1], name[2] or before[2]),
                )
            for key in held:
                if graph.find(graph.index[key]) != own:
                    graph.elsewhere.setdefault(key, []).append(record_id)
            home[record_id] = own
            for key in fresh:
                graph.index[key] = record_id
            rows.append(
                (
                    record_id,
                    own,
                    own,
                    channel,
                    ref,
                    attributes,
                    observed,
                    now_text,
                    postcode,
                    birth,
                    name_key,
                )
            )
            identifiers.extend((record_id, kind, value, now_text) for kind, value in idents)
        if profiles:
            conn.exec_driver_sql(profile_sql, profiles)
        if rows:
            conn.exec_driver_sql(record_sql, rows)
        _run_plain(conn, inserts["identifiers"], identifiers)
        inserts["links"].run(links)
        inserts["refusals"].run(refusals)
        if progress is not None:
            progress(len(prepared))

    _create_indexes(conn, dropped)
    _finish(conn, graph, home, absorbed_at_end, now)
    result.profiles -= len(absorbed_at_end)
    result.quarantined = _quarantine_found(conn, graph, rules)
    if keep_assignment:
        assignment = [graph.find(i) if home[i] else 0 for i in range(1, next_id)]
        if result.quarantined:  # the repair split profiles: read them back
            placed = {
                int(r[0]): int(r[1])
                for r in sql.rows("SELECT id, profile_id FROM customer_records")
            }
            assignment = [placed.get(i, 0) for i in range(1, next_id)]
        result.profile_of_record = assignment
    return result


def _shared(
    graph: _Graph,
    key: tuple[str, str],
    first: int | None,
    name_key: str | None,
    decided: dict[tuple[str, str], str],
    limit: int,
) -> str | None:
    """Count this record's name among the holders of ``key``; why the value may not merge
    (quarantined, blocked, or now held by ``limit`` different names), or None."""
    status = decided.get(key)
    if status in quarantine.HELD:
        return f"{key[0]} {key[1]} is {status}: shared by many people"
    if first is not None and name_key is not None:
        names = graph.value_names.get(key)
        if names is None:
            base = graph.name_keys[first]
            if base != name_key:
                names = graph.value_names[key] = {name_key} if base is None else {base, name_key}
        elif len(names) <= limit:
            names.add(name_key)
        if names is not None and len(names) >= limit and status != "released":
            graph.quarantined.add(key)
    if key in graph.quarantined:
        return f"{key[0]} {key[1]} is shared by {limit} or more different names"
    return None


def _quarantine_found(conn: Connection, graph: _Graph, rules: MergeRules) -> int:
    """Record the values this load found shared, and undo the merges they made before the
    count reached the limit."""
    found = sorted(graph.quarantined)
    for kind, value in found:
        quarantine.mark(
            conn,
            kind,
            value,
            "quarantined",
            "detected",
            f"held by {rules.shared_value_limit(kind)} or more different names",
        )
    if found:
        quarantine.repair(conn, found, apply=True, actor="batch")
    return len(found)


#: The tables whose non-unique indexes a batch load drops and rebuilds.
_BULK_TABLES = (
    store.customer_profiles,
    store.customer_records,
    store.customer_identifiers,
    store.customer_links,
    store.customer_refusals,
)


def _drop_indexes(conn: Connection) -> list[Index]:
    dropped = [i for t in _BULK_TABLES for i in t.indexes if not i.unique]
    for index in dropped:
        index.drop(conn)
    return dropped


def _create_indexes(conn: Connection, indexes: Sequence[Index]) -> None:
    for index in indexes:
        index.create(conn)


def _run_plain(conn: Connection, insert: BulkInsert, rows: list[tuple[Any, ...]]) -> None:
    """Rows already in the driver's form (timestamps formatted once for the whole batch)."""
    if rows:
        conn.exec_driver_sql(insert.sql, rows)


def _numbered(chunks: Iterator[list[CustomerRecord]]) -> Iterator[tuple[int, list[CustomerRecord]]]:
    start = 1
    for chunk in chunks:
        yield start, chunk
        start += len(chunk)


def _finish(
    conn: Connection,
    graph: _Graph,
    home: list[int],
    absorbed: dict[int, int],
    now: datetime,
) -> None:
    """Point records of absorbed profiles at their survivors, redirect the absorbed profiles,
    recompute the golden record of every profile that grew, and move the id sequences."""
    sql = Sql(conn)
    final = {p: graph.find(p) for p in absorbed}
    if final:
        sql.run_many(
            "UPDATE customer_profiles SET merged_into = ?, updated_at = ? WHERE id = ?",
            [(survivor, sql.time(now), p) for p, survivor in final.items()],
        )
        moved = [(final[home[r]], r) for r in range(1, len(home)) if home[r] in final]
        sql.run_many("UPDATE customer_records SET profile_id = ? WHERE id = ?", moved)
    # Every profile holding more than one record gets its golden record from all of them.
    grown = sorted({graph.find(r) for r in range(1, len(home)) if home[r] and home[r] != r})
    for start in range(0, len(grown), 5000):
        part = grown[start : start + 5000]
        marks = ", ".join("?" for _ in part)
        rows = sql.rows(
            "SELECT id, profile_id, channel, source_ref, observed_at, seen_count, attributes "
            f"FROM customer_records WHERE profile_id IN ({marks}) ORDER BY profile_id",
            part,
        )
        by_profile: dict[int, list[RecordSnapshot]] = {}
        for r in rows:
            by_profile.setdefault(int(r[1]), []).append(
                RecordSnapshot(
                    int(r[0]), r[2], r[3], sql.read_time(r[4]), int(r[5]), sql.read_json(r[6])
                )
            )
        sql.run_many(
            "UPDATE customer_profiles SET golden = ?::jsonb WHERE id = ?",
            [(sql.json(golden_record(s)), p) for p, s in by_profile.items()],
        )
    if sql.is_pg:
        for table in ("customer_profiles", "customer_records"):
            sql.run(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )


def import_records(
    db: Database,
    records: Iterable[CustomerRecord],
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Load records: the batch path on an empty store, else incremental resolution in
    transactions of 500 records."""
    with db.read() as conn:
        empty = Sql(conn).first("SELECT id FROM customer_records LIMIT 1") is None
    if empty:
        return resolve_batch(db, records, workers=workers, progress=progress)
    result = BatchResult()
    for chunk in _chunks(records, 500):
        with db.transaction() as conn:
            rules = load_rules(conn)
            for record in chunk:
                resolution = resolve_record(conn, record, rules)
                result.records += 1
                result.profiles += int(resolution.created and not resolution.merged)
                result.merges += len(resolution.merged)
                result.refused += len(resolution.refused)
        if progress is not None:
            progress(len(chunk))
    return result


__all__ = ["BatchResult", "import_records", "resolve_batch"]
