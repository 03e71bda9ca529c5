"""Product use cases: the one bulk write path (API, import, demo), reads, workflow, history.

Every write validates whole products before touching the database, then writes a batch
set-wise in one transaction: products, categories, completeness for every channel and
locale, the change history and outbox events. A product is never half-written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from channelhub.catalog import store
from channelhub.catalog.model import (
    Family,
    InvalidValue,
    JsonValue,
    ProductKind,
    Status,
    can_transition,
    completeness_of,
    effective_values,
    normalize_value,
    scope_key,
    search_text,
    split_scope,
)
from channelhub.catalog.snapshot import CatalogSnapshot, load_snapshot
from channelhub.core.bulk import BulkInsert
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, NotFound
from channelhub.core.events import outbox, record_events

SKU_PATTERN = re.compile(
    r"^[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,98}[^\s\x00-\x1f\x7f]$|^[^\s\x00-\x1f\x7f]$"
)
PRODUCT_CHANGED = "catalog.product_changed"

Values = dict[str, dict[str, JsonValue]]


@dataclass(slots=True)
class ValueInput:
    """Set (or, with ``data`` None, remove) one value at one scope; ``source`` names its column."""

    attribute: str
    data: JsonValue
    locale: str | None = None
    channel: str | None = None
    source: str | None = None


@dataclass
class ProductInput:
    """What a writer says of one product; fields left None are kept as they are."""

    sku: str
    family: str | None = None
    parent: str | None = None
    kind: ProductKind | None = None
    categories: list[str] | None = None
    status: Status | None = None
    values: list[ValueInput] = field(default_factory=list)
    line: int | None = None


@dataclass(frozen=True)
class Rejection:
    line: int | None
    sku: str | None
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "sku": self.sku, "column": self.column, "reason": self.reason}


@dataclass
class SaveResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def extend(self, other: SaveResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected


class RowError(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass
class ProductState:
    id: int | None
    sku: str
    kind: ProductKind
    parent: str | None
    family: str | None
    status: Status
    values: Values
    categories: list[str]
    version: int = 0


# --- the write path -----------------------------------------------------------------------


def save_products(
    db: Database, inputs: Sequence[ProductInput], actor: str, source: str = "api"
) -> SaveResult:
    """Validate and write products in one transaction; bad ones are rejected, not written."""
    with db.transaction() as conn:
        snapshot = load_snapshot(conn)
        return save_batch(conn, snapshot, inputs, actor, source)


Pending = dict[str, tuple["ProductState | None", "ProductState", dict[str, list[Any]]]]


@dataclass
class PreparedBatch:
    """A validated batch with every row computed, ready to write in a short transaction."""

    result: SaveResult
    pending: Pending
    states: dict[str, ProductState]
    rows: dict[str, tuple[tuple[Any, ...], list[tuple[int, str]]]]


def save_batch(
    conn: Connection,
    snapshot: CatalogSnapshot,
    inputs: Sequence[ProductInput],
    actor: str,
    source: str,
) -> SaveResult:
    """The set-wise write of one batch inside the caller's transaction."""
    return write_prepared(conn, snapshot, prepare_batch(conn, snapshot, inputs), actor, source)


def prepare_batch(
    conn: Connection, snapshot: CatalogSnapshot, inputs: Sequence[ProductInput]
) -> PreparedBatch:
    """Validate a batch and compute its rows and completeness: reads only.

    Imports run this outside the write transaction, so several processes validate in
    parallel; ``write_prepared`` then refuses the batch if a product changed in between.
    """
    result = SaveResult()
    wanted = {i.sku for i in inputs} | {i.parent for i in inputs if i.parent}
    originals = _load_states(conn, wanted)
    # Existing variants written without naming their model still need it.
    models = {s.parent for s in originals.values() if s.parent and s.parent not in originals}
    originals.update(_load_states(conn, models))
    states: dict[str, ProductState] = dict(originals)
    pending: Pending = {}
    seen: set[str] = set()
    for item in inputs:
        if item.sku in seen:
            result.rejected.append(Rejection(item.line, item.sku, "sku", "SKU given twice"))
            continue
        seen.add(item.sku)
        try:
            before = states.get(item.sku)
            after, changes = _apply(item, before, states, snapshot)
        except RowError as error:
            result.rejected.append(Rejection(item.line, item.sku, error.column, error.reason))
            continue
        if not changes:
            result.unchanged.append(item.sku)
            continue
        states[item.sku] = after
        pending[item.sku] = (originals.get(item.sku), after, changes)
    lines = {i.sku: i.line for i in inputs}
    for sku, reason in _duplicate_axes(conn, snapshot, pending, states).items():
        result.rejected.append(Rejection(lines.get(sku), sku, "axes", reason))
        del pending[sku]
    rows = {sku: _product_row(snapshot, after, states) for sku, (_b, after, _c) in pending.items()}
    return PreparedBatch(result, pending, states, rows)


def write_prepared(
    conn: Connection,
    snapshot: CatalogSnapshot,
    prepared: PreparedBatch,
    actor: str,
    source: str,
) -> SaveResult:
    """Write a prepared batch; Conflict (or an IntegrityError) when a product changed since."""
    if prepared.pending:
        _write(conn, snapshot, prepared, actor, source)
    result = prepared.result
    for sku, (before, _after, _changes) in prepared.pending.items():
        (result.updated if before else result.created).append(sku)
    return result


def _apply(
    item: ProductInput,
    before: ProductState | None,
    states: dict[str, ProductState],
    snapshot: CatalogSnapshot,
) -> tuple[ProductState, dict[str, list[Any]]]:
    if not isinstance(item.sku, str) or not SKU_PATTERN.match(item.sku):
        raise RowError(
            "sku", "SKU must be 1 to 100 printable characters without surrounding spaces"
        )
    kind = _kind(item, before)
    parent = before.parent if before else None
    family = before.family if before else None
    if kind is ProductKind.VARIANT:
        parent = item.parent or parent
        model = states.get(parent or "")
        if model is None:
            raise RowError("parent", f"parent model {parent!r} does not exist")
        if model.kind is not ProductKind.MODEL:
            raise RowError("parent", f"parent {parent!r} is a {model.kind.value}, not a model")
        if item.family is not None and item.family != model.family:
            raise RowError("family", f"a variant takes its model's family ({model.family})")
        family = model.family
    elif item.parent:
        raise RowError("parent", f"{item.sku} is a {kind.value}; only variants have a parent")
    elif item.family is not None:
        family = item.family
    if family is None:
        raise RowError("family", "a new product needs a family")
    if family not in snapshot.families:
        raise RowError("family", f"family {family!r} does not exist")
    family_def = snapshot.families[family]

    status = before.status if before else Status.DRAFT
    if kind is ProductKind.VARIANT:
        model_status = states[parent or ""].status
        if item.status is not None and item.status is not model_status:
            raise RowError(
                "status", f"a variant follows its model's workflow status ({model_status.value})"
            )
        status = model_status
    elif item.status is not None:
        if before is not None and not can_transition(before.status, item.status):
            raise RowError(
                "status", f"cannot move from {before.status.value} to {item.status.value}"
            )
        status = item.status

    categories = before.categories if before else []
    if item.categories is not None:
        unknown = [c for c in item.categories if c not in snapshot.category_ids]
        if unknown:
            raise RowError(
                "categories",
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}",
            )
        categories = sorted(set(item.categories))

    values: Values = (
        {code: dict(scopes) for code, scopes in before.values.items()} if before else {}
    )
    allowed = set(family_def.attributes)
    for value in item.values:
        _set_value(values, value, allowed, family_def, snapshot)
    if kind is ProductKind.VARIANT:
        for axis in family_def.variant_axes:
            if values.get(axis, {}).get(scope_key(None, None)) is None:
                raise RowError(axis, f"a variant needs a value for the axis {axis}")

    after = ProductState(
        id=before.id if before else None,
        sku=item.sku,
        kind=kind,
        parent=parent,
        family=family,
        status=status,
        values=values,
        categories=categories,
        version=before.version if before else 0,
    )
    return after, _diff(before, after)


def _kind(item: ProductInput, before: ProductState | None) -> ProductKind:
    if before is not None:
        asked = ProductKind.VARIANT if item.parent else item.kind
        if asked is not None and asked is not before.kind:
            raise RowError("kind", f"{item.sku} is a {before.kind.value} and stays one")
        return before.kind
    if item.parent:
        if item.kind not in (None, ProductKind.VARIANT):
            raise RowError("kind", "a product with a parent is a variant")
        return ProductKind.VARIANT
    if item.kind is ProductKind.VARIANT:
        raise RowError("parent", "a variant needs a parent model")
    return item.kind or ProductKind.SIMPLE


def _set_value(
    values: Values,
    value: ValueInput,
    allowed: set[str],
    family: Family,
    snapshot: CatalogSnapshot,
) -> None:
    column = value.source or value.attribute
    if value.attribute not in allowed:
        if value.data is None:
            return  # nothing to remove (an empty cell of a column other families use)
        if value.attribute in snapshot.attributes:
            raise RowError(column, f"attribute {value.attribute} is not in family {family.code}")
    problem = snapshot.scope_problem(value.attribute, value.locale, value.channel)
    if problem is not None:
        raise RowError(column, problem)
    key = scope_key(value.channel, value.locale)
    if value.data is None:
        scopes = values.get(value.attribute)
        if scopes is not None:
            scopes.pop(key, None)
            if not scopes:
                del values[value.attribute]
        return
    try:
        data = normalize_value(snapshot.attributes[value.attribute], value.data)
    except InvalidValue as error:
        raise RowError(column, str(error)) from None
    values.setdefault(value.attribute, {})[key] = data


def _diff(before: ProductState | None, after: ProductState) -> dict[str, list[Any]]:
    if before is None:
        return {"created": [None, after.sku]}
    changes: dict[str, list[Any]] = {}
    for name in ("family", "parent", "status", "categories"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes[name] = [old, new]
    for code in before.values.keys() | after.values.keys():
        old_scopes = before.values.get(code, {})
        new_scopes = after.values.get(code, {})
        for key in old_scopes.keys() | new_scopes.keys():
            old, new = old_scopes.get(key), new_scopes.get(key)
            if old != new:
                changes[_field_name(code, key)] = [old, new]
    return changes


def _field_name(code: str, key: str) -> str:
    channel, locale = split_scope(key)
    scope = ", ".join(x for x in (locale, channel) if x)
    return f"{code} ({scope})" if scope else code


def _duplicate_axes(
    conn: Connection,
    snapshot: CatalogSnapshot,
    pending: dict[str, tuple[ProductState | None, ProductState, dict[str, list[Any]]]],
    states: dict[str, ProductState],
) -> dict[str, str]:
    """Variants whose axis values repeat a sibling's: {sku: reason}."""
    variants = [s for _b, s, _c in pending.values() if s.kind is ProductKind.VARIANT]
    if not variants:
        return {}
    parent_ids = {states[v.parent].id for v in variants if v.parent and states[v.parent].id}
    siblings: dict[str, list[tuple[str, Values]]] = defaultdict(list)
    if parent_ids:
        parent_alias = aliased(store.products)
        rows = conn.execute(
            select(
                store.products.c.sku, store.products.c["values"], parent_alias.c.sku.label("parent")
            )
            .join(parent_alias, parent_alias.c.id == store.products.c.parent_id)
            .where(store.products.c.parent_id.in_(parent_ids))
        )
        for row in rows:
            if row.sku not in pending:
                siblings[row.parent].append((row.sku, row.values))
    for variant in variants:
        siblings[variant.parent or ""].append((variant.sku, variant.values))
    rejected: dict[str, str] = {}
    any_scope = scope_key(None, None)
    for parent, members in siblings.items():
        family = snapshot.families[states[parent].family or ""]
        taken: dict[tuple[Any, ...], str] = {}
        for sku, values in members:
            combination = tuple(
                repr(values.get(axis, {}).get(any_scope)) for axis in family.variant_axes
            )
            if combination in taken and sku in pending:
                rejected[sku] = (
                    f"variant {taken[combination]} of {parent} already has "
                    f"{', '.join(family.variant_axes)} = {', '.join(combination)}"
                )
            else:
                taken.setdefault(combination, sku)
    return rejected


def _load_states(conn: Connection, skus: Iterable[str]) -> dict[str, ProductState]:
    wanted = list(set(skus))
    if not wanted:
        return {}
    products = store.products
    parent = aliased(products)
    rows = conn.execute(
        select(
            products.c.id,
            products.c.sku,
            products.c.kind,
            parent.c.sku.label("parent"),
            store.families.c.code.label("family"),
            products.c.status,
            products.c["values"],
            products.c.version,
        )
        .select_from(products)
        .outerjoin(parent, parent.c.id == products.c.parent_id)
        .outerjoin(store.families, store.families.c.id == products.c.family_id)
        .where(products.c.sku.in_(wanted))
    ).all()
    if not rows:
        return {}
    categories: dict[int, list[str]] = defaultdict(list)
    for product_id, code in conn.execute(
        select(store.product_categories.c.product_id, store.categories.c.code)
        .join(store.categories, store.categories.c.id == store.product_categories.c.category_id)
        .where(store.product_categories.c.product_id.in_([r.id for r in rows]))
    ):
        categories[product_id].append(code)
    return {
        r.sku: ProductState(
            id=r.id,
            sku=r.sku,
            kind=ProductKind(r.kind),
            parent=r.parent,
            family=r.family,
            status=Status(r.status),
            values=r.values,
            categories=sorted(categories.get(r.id, [])),
            version=r.version,
        )
        for r in rows
    }


def _write(
    conn: Connection,
    snapshot: CatalogSnapshot,
    prepared: PreparedBatch,
    actor: str,
    source: str,
) -> None:
    pending, states, prepared_rows = prepared.pending, prepared.states, prepared.rows

    def row_of(state: ProductState) -> tuple[tuple[Any, ...], list[tuple[int, str]]]:
        row, product_gaps = prepared_rows[state.sku]
        parent_id = states[state.parent].id if state.parent else None
        return (*row[:2], parent_id, *row[3:], source), product_gaps

    now = utcnow()
    products = store.products
    gaps: list[tuple[int, int, str]] = []
    created = [s for b, s, _ in pending.values() if b is None]
    # Models and simple products first, so that new variants can point at new models.
    for wave in (
        [s for s in created if s.kind is not ProductKind.VARIANT],
        [s for s in created if s.kind is ProductKind.VARIANT],
    ):
        if not wave:
            continue
        rows = [row_of(state) for state in wave]
        BulkInsert(
            conn, products, (*PRODUCT_COLUMNS, "created_at", "created_by", "updated_at")
        ).run([(*row, now, actor, now) for row, _gaps in rows])
        found = conn.execute(
            select(products.c.sku, products.c.id).where(
                products.c.sku.in_([state.sku for state in wave])
            )
        )
        ids: dict[str, int] = {row.sku: row.id for row in found}
        for state, (_row, product_gaps) in zip(wave, rows, strict=True):
            state.id = ids[state.sku]
            gaps.extend((state.id, channel_id, locale) for channel_id, locale in product_gaps)
    changed = [(b, s) for b, s, _ in pending.values() if b is not None]
    if changed:
        updates = []
        for _b, state in changed:
            row, product_gaps = row_of(state)
            updates.append(
                dict(zip(PRODUCT_COLUMNS, row, strict=True))
                | {
                    "b_id": state.id,
                    "b_version": state.version,
                    "updated_at": now,
                }
            )
            gaps.extend((state.id or 0, channel_id, locale) for channel_id, locale in product_gaps)
        count = conn.execute(
            update(products)
            .where(products.c.id == bindparam("b_id"), products.c.version == bindparam("b_version"))
            .values(
                {
                    name: bindparam(name)
                    for name in (*PRODUCT_COLUMNS, "updated_at")
                    if name != "sku"
                }
            ),
            updates,
        ).rowcount
        if count != len(updates):
            raise Conflict("a product changed while this batch was written; try again")
        _clear_gaps(conn, [s.id for _b, s in changed if s.id is not None])
        gaps.extend(_refresh_variants_of(conn, snapshot, pending, now))
    BulkInsert(conn, store.product_gaps, ("product_id", "channel_id", "locale")).run(gaps)
    _write_categories(conn, snapshot, pending)
    # A product's creation is on its own row (created_at, created_by); history keeps changes.
    BulkInsert(
        conn, store.product_changes, ("product_id", "changed_at", "actor", "source", "changes")
    ).run(
        [
            (after.id, now, actor, source, changes)
            for before, after, changes in pending.values()
            if before is not None
        ]
    )
    BulkInsert(conn, outbox, ("topic", "key", "payload", "created_at")).run(
        [
            (
                PRODUCT_CHANGED,
                after.sku,
                {"sku": after.sku, "kind": after.kind.value, "fields": sorted(changes)},
                now,
            )
            for _b, after, changes in pending.values()
        ]
    )


PRODUCT_COLUMNS = (
    "sku",
    "kind",
    "parent_id",
    "family_id",
    "status",
    "values",
    "search_text",
    "completeness",
    "version",
    "source",
)


def _product_row(
    snapshot: CatalogSnapshot, state: ProductState, states: dict[str, ProductState]
) -> tuple[tuple[Any, ...], list[tuple[int, str]]]:
    """The product's row (PRODUCT_COLUMNS but the last, ``source``; ``parent_id`` is filled in
    at write time, when a new model's id is known) and its gaps as (channel id, locale)."""
    parent = states[state.parent] if state.parent else None
    effective = effective_values(state.values, parent.values if parent else None)
    family = snapshot.families[state.family or ""]
    summary, gaps = (
        ({}, [])
        if state.kind is ProductKind.MODEL
        else completeness_summary(snapshot, effective, family)
    )
    row = (
        state.sku,
        state.kind.value,
        None,
        snapshot.family_ids[family.code],
        state.status.value,
        state.values,
        search_text(state.sku, effective, snapshot.attributes),
        summary,
        state.version + 1,
    )
    return row, gaps


Summary = dict[str, dict[str, list[Any]]]


def completeness_summary(
    snapshot: CatalogSnapshot,
    values: Values,
    family: Family | None,
    channels: Iterable[str] | None = None,
) -> tuple[Summary, list[tuple[int, str]]]:
    """Completeness per channel and locale as stored on the product, and its gaps."""
    summary: Summary = {}
    gaps: list[tuple[int, str]] = []
    for code in snapshot.channels if channels is None else channels:
        per_locale: dict[str, list[Any]] = {}
        for locale, required, satisfied, missing in completeness_of(
            values, snapshot.compiled(code, family)
        ):
            per_locale[locale] = [required, satisfied, missing]
            if missing:
                gaps.append((snapshot.channels[code].id, locale))
        summary[code] = per_locale
    return summary, gaps


def _clear_gaps(
    conn: Connection, product_ids: list[int], channel_ids: list[int] | None = None
) -> None:
    if not product_ids:
        return
    query = delete(store.product_gaps).where(store.product_gaps.c.product_id.in_(product_ids))
    if channel_ids is not None:
        query = query.where(store.product_gaps.c.channel_id.in_(channel_ids))
    conn.execute(query)


def _refresh_variants_of(
    conn: Connection,
    snapshot: CatalogSnapshot,
    pending: dict[str, tuple[ProductState | None, ProductState, dict[str, list[Any]]]],
    now: datetime,
) -> list[tuple[int, int, str]]:
    """Variants of changed models inherit the change: recompute theirs; returns their gaps."""
    models = {
        s.id: s for b, s, _ in pending.values() if s.kind is ProductKind.MODEL and b is not None
    }
    if not models:
        return []
    products = store.products
    pending_ids = {s.id for _b, s, _ in pending.values()}
    gaps: list[tuple[int, int, str]] = []
    updates = []
    for row in conn.execute(
        select(products.c.id, products.c.parent_id, products.c["values"]).where(
            products.c.parent_id.in_(list(models))
        )
    ):
        if row.id in pending_ids:
            continue
        model = models[row.parent_id]
        family = snapshot.families[model.family or ""]
        effective = effective_values(row.values, model.values)
        summary, product_gaps = completeness_summary(snapshot, effective, family)
        updates.append(
            {
                "b_id": row.id,
                "status": model.status.value,
                "family_id": snapshot.family_ids[family.code],
                "completeness": summary,
                "search_text": search_text(model.sku, effective, snapshot.attributes),
                "updated_at": now,
            }
        )
        gaps.extend((row.id, channel_id, locale) for channel_id, locale in product_gaps)
    if updates:
        conn.execute(
            update(products)
            .where(products.c.id == bindparam("b_id"))
            .values(
                {
                    n: bindparam(n)
                    for n in ("status", "family_id", "completeness", "search_text", "updated_at")
                }
            ),
            updates,
        )
        _clear_gaps(conn, [u["b_id"] for u in updates])
    return gaps


def _write_categories(
    conn: Connection,
    snapshot: CatalogSnapshot,
    pending: dict[str, tuple[ProductState | None, ProductState, dict[str, list[Any]]]],
) -> None:
    touched = [(b, s) for b, s, _ in pending.values() if b is None or b.categories != s.categories]
    stale = [s.id for b, s in touched if b is not None]
    if stale:
        conn.execute(
            delete(store.product_categories).where(store.product_categories.c.product_id.in_(stale))
        )
    BulkInsert(conn, store.product_categories, ("product_id", "category_id")).run(
        [(s.id, snapshot.category_ids[code]) for _b, s in touched for code in s.categories]
    )


def recompute_completeness(
    conn: Connection,
    snapshot: CatalogSnapshot,
    channels: Sequence[str] | None = None,
    family: str | None = None,
    batch_size: int = 5000,
) -> int:
    """Recompute stored completeness in bulk, batch by batch, inside the caller's transaction.

    Used when a channel's requirements or locales, or a family's required attributes, change.
    Only the named channels' entries are recomputed. Returns how many products were touched.
    """
    channel_codes = list(channels) if channels is not None else list(snapshot.channels)
    channel_ids = [snapshot.channels[c].id for c in channel_codes]
    products = store.products
    parent = aliased(products)
    query = (
        select(
            products.c.id,
            products.c["values"],
            products.c.completeness,
            parent.c["values"].label("parent_values"),
            store.families.c.code.label("family"),
        )
        .select_from(products)
        .outerjoin(parent, parent.c.id == products.c.parent_id)
        .join(store.families, store.families.c.id == products.c.family_id)
        .where(products.c.kind != ProductKind.MODEL.value)
        .order_by(products.c.id)
        .limit(batch_size)
    )
    if family is not None:
        query = query.where(store.families.c.code == family)
    done = 0
    after = 0
    while True:
        rows = conn.execute(query.where(products.c.id > after)).all()
        if not rows:
            return done
        updates = []
        gaps: list[tuple[int, int, str]] = []
        for r in rows:
            effective = effective_values(r.values, r.parent_values)
            summary, product_gaps = completeness_summary(
                snapshot, effective, snapshot.families.get(r.family), channel_codes
            )
            merged = {
                code: entry
                for code, entry in (r.completeness or {}).items()
                if code in snapshot.channels
            } | summary
            updates.append({"b_id": r.id, "completeness": merged})
            gaps.extend((r.id, channel_id, locale) for channel_id, locale in product_gaps)
        conn.execute(
            update(products)
            .where(products.c.id == bindparam("b_id"))
            .values(completeness=bindparam("completeness")),
            updates,
        )
        _clear_gaps(conn, [r.id for r in rows], channel_ids)
        BulkInsert(conn, store.product_gaps, ("product_id", "channel_id", "locale")).run(gaps)
        done += len(rows)
        after = rows[-1].id


def change_status(db: Database, sku: str, status: Status, actor: str) -> Status:
    """Move a product through the workflow (draft, in review, approved, archived)."""
    with db.transaction() as conn:
        row = conn.execute(
            select(store.products.c.id, store.products.c.kind, store.products.c.status).where(
                store.products.c.sku == sku
            )
        ).first()
        if row is None:
            raise NotFound(f"product {sku!r} does not exist")
        if row.kind == ProductKind.VARIANT.value:
            raise Conflict(f"{sku} is a variant: it follows its model's workflow status")
        current = Status(row.status)
        if current is status:
            return status
        if not can_transition(current, status):
            allowed = ", ".join(sorted(s.value for s in _targets(current)))
            raise Conflict(
                f"product {sku} is {current.value}; it can move to {allowed}, not {status.value}"
            )
        now = utcnow()
        conn.execute(
            update(store.products)
            .where(store.products.c.id == row.id)
            .values(
                status=status.value,
                updated_at=now,
                source="workflow",
                version=store.products.c.version + 1,
            )
        )
        # A model's variants share its workflow status.
        variants = (
            conn.execute(
                update(store.products)
                .where(store.products.c.parent_id == row.id)
                .values(status=status.value, updated_at=now, source="workflow")
                .returning(store.products.c.sku)
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(store.product_changes).values(
                product_id=row.id,
                changed_at=now,
                actor=actor,
                source="workflow",
                changes={"status": [current.value, status.value]},
            )
        )
        record_events(
            conn,
            PRODUCT_CHANGED,
            [(code, {"sku": code, "fields": ["status"]}) for code in (sku, *variants)],
        )
    return status


def _targets(current: Status) -> set[Status]:
    from channelhub.catalog.model import TRANSITIONS

    return set(TRANSITIONS[current])
