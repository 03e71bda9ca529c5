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
    check_scope,
    compute_completeness,
    effective_values,
    normalize_value,
    scope_key,
    search_text,
    split_scope,
)
from channelhub.catalog.snapshot import CatalogSnapshot, load_snapshot
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, NotFound
from channelhub.core.events import record_events

SKU_PATTERN = re.compile(
    r"^[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,98}[^\s\x00-\x1f\x7f]$|^[^\s\x00-\x1f\x7f]$"
)
PRODUCT_CHANGED = "catalog.product_changed"

Values = dict[str, dict[str, JsonValue]]


@dataclass(frozen=True)
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


def save_batch(
    conn: Connection,
    snapshot: CatalogSnapshot,
    inputs: Sequence[ProductInput],
    actor: str,
    source: str,
) -> SaveResult:
    """The set-wise write of one batch inside the caller's transaction."""
    result = SaveResult()
    wanted = {i.sku for i in inputs} | {i.parent for i in inputs if i.parent}
    originals = _load_states(conn, wanted)
    states: dict[str, ProductState] = dict(originals)
    pending: dict[str, tuple[ProductState | None, ProductState, dict[str, list[Any]]]] = {}
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
    if pending:
        _write(conn, snapshot, pending, states, actor, source)
    for sku, (before, _after, _changes) in pending.items():
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
    if item.status is not None:
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
    attribute = snapshot.attributes.get(value.attribute)
    if attribute is None:
        raise RowError(column, f"attribute {value.attribute!r} does not exist")
    if value.attribute not in allowed:
        if value.data is None:
            return  # nothing to remove (an empty cell of a column other families use)
        raise RowError(column, f"attribute {value.attribute} is not in family {family.code}")
    if value.locale is not None and value.locale not in snapshot.locales:
        raise RowError(column, f"locale {value.locale!r} is not enabled")
    if value.channel is not None:
        channel = snapshot.channels.get(value.channel)
        if channel is None:
            raise RowError(column, f"channel {value.channel!r} does not exist")
        if value.locale is not None and value.locale not in channel.locales:
            raise RowError(column, f"channel {channel.code} does not use locale {value.locale}")
    try:
        check_scope(attribute, value.channel, value.locale)
        key = scope_key(value.channel, value.locale)
        if value.data is None:
            scopes = values.get(value.attribute)
            if scopes is not None:
                scopes.pop(key, None)
                if not scopes:
                    del values[value.attribute]
            return
        values.setdefault(value.attribute, {})[key] = normalize_value(attribute, value.data)
    except InvalidValue as error:
        raise RowError(column, str(error)) from None


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
    pending: dict[str, tuple[ProductState | None, ProductState, dict[str, list[Any]]]],
    states: dict[str, ProductState],
    actor: str,
    source: str,
) -> None:
    now = utcnow()
    products = store.products
    created = [s for b, s, _ in pending.values() if b is None]
    # Models and simple products first, so that new variants can point at new models.
    for wave in (
        [s for s in created if s.kind is not ProductKind.VARIANT],
        [s for s in created if s.kind is ProductKind.VARIANT],
    ):
        if not wave:
            continue
        rows = [_product_row(snapshot, state, states, now) | {"created_at": now} for state in wave]
        returned = conn.execute(insert(products).returning(products.c.id, products.c.sku), rows)
        ids = dict((sku, pid) for pid, sku in returned)
        for state in wave:
            state.id = ids[state.sku]
    changed = [(b, s) for b, s, _ in pending.values() if b is not None]
    if changed:
        rows = [
            _product_row(snapshot, s, states, now) | {"b_id": s.id, "b_version": s.version}
            for _b, s in changed
        ]
        count = conn.execute(
            update(products)
            .where(products.c.id == bindparam("b_id"), products.c.version == bindparam("b_version"))
            .values(
                {
                    name: bindparam(name)
                    for name in (
                        "kind",
                        "parent_id",
                        "family_id",
                        "status",
                        "values",
                        "search_text",
                        "updated_at",
                    )
                }
                | {"version": products.c.version + 1}
            ),
            rows,
        ).rowcount
        if count != len(rows):
            raise Conflict("a product changed while this batch was written; try again")
        # A model's new family is its variants' family.
        moved = [
            s for b, s in changed if s.kind is ProductKind.MODEL and b and b.family != s.family
        ]
        for model in moved:
            conn.execute(
                update(products)
                .where(products.c.parent_id == model.id)
                .values(family_id=snapshot.family_ids[model.family or ""], updated_at=now)
            )

    _write_categories(conn, snapshot, pending)
    _write_completeness(conn, snapshot, pending, states)
    conn.execute(
        insert(store.product_changes),
        [
            {
                "product_id": after.id,
                "changed_at": now,
                "actor": actor,
                "source": source,
                "changes": changes,
            }
            for _b, after, changes in pending.values()
        ],
    )
    record_events(
        conn,
        PRODUCT_CHANGED,
        (
            (after.sku, {"sku": after.sku, "kind": after.kind.value, "fields": sorted(changes)})
            for _b, after, changes in pending.values()
        ),
    )


def _product_row(
    snapshot: CatalogSnapshot, state: ProductState, states: dict[str, ProductState], now: datetime
) -> dict[str, Any]:
    parent = states[state.parent] if state.parent else None
    effective = effective_values(state.values, parent.values if parent else None)
    return {
        "sku": state.sku,
        "kind": state.kind.value,
        "parent_id": parent.id if parent else None,
        "family_id": snapshot.family_ids[state.family or ""],
        "status": state.status.value,
        "values": state.values,
        "search_text": search_text(state.sku, effective, snapshot.attributes),
        "version": state.version + 1 if state.id else 1,
        "updated_at": now,
    }


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
    rows = [
        {"product_id": s.id, "category_id": snapshot.category_ids[code]}
        for _b, s in touched
        for code in s.categories
    ]
    if rows:
        conn.execute(insert(store.product_categories), rows)


def _write_completeness(
    conn: Connection,
    snapshot: CatalogSnapshot,
    pending: dict[str, tuple[ProductState | None, ProductState, dict[str, list[Any]]]],
    states: dict[str, ProductState],
) -> None:
    targets: list[tuple[int, Values, str]] = []
    stale: list[int] = []
    for before, after, _changes in pending.values():
        if after.kind is ProductKind.MODEL:
            continue
        parent = states[after.parent] if after.parent else None
        assert after.id is not None
        targets.append(
            (
                after.id,
                effective_values(after.values, parent.values if parent else None),
                after.family or "",
            )
        )
        if before is not None:
            stale.append(after.id)
    # Variants of changed models inherit the change: recompute them too.
    changed_models = {
        s.id: s for b, s, _ in pending.values() if s.kind is ProductKind.MODEL and b is not None
    }
    if changed_models:
        pending_ids = {s.id for _b, s, _ in pending.values()}
        for row in conn.execute(
            select(
                store.products.c.id, store.products.c.parent_id, store.products.c["values"]
            ).where(store.products.c.parent_id.in_(list(changed_models)))
        ):
            if row.id in pending_ids:
                continue
            model = changed_models[row.parent_id]
            targets.append((row.id, effective_values(row.values, model.values), model.family or ""))
            stale.append(row.id)
    if stale:
        conn.execute(
            delete(store.product_completeness).where(
                store.product_completeness.c.product_id.in_(stale)
            )
        )
    rows = completeness_rows(snapshot, targets, list(snapshot.channels))
    if rows:
        conn.execute(insert(store.product_completeness), rows)


def completeness_rows(
    snapshot: CatalogSnapshot,
    targets: Iterable[tuple[int, Values, str]],
    channels: Sequence[str],
) -> list[dict[str, Any]]:
    """Completeness rows for products given as (id, effective values, family code)."""
    rows: list[dict[str, Any]] = []
    attributes = snapshot.attributes
    for product_id, values, family_code in targets:
        family = snapshot.families.get(family_code)
        for code in channels:
            channel = snapshot.channels[code]
            for result in compute_completeness(
                values,
                family,
                snapshot.channel_rules[code],
                attributes,
                snapshot.rules(code, family),
            ):
                rows.append(
                    {
                        "product_id": product_id,
                        "channel_id": channel.id,
                        "locale": result.locale,
                        "required": result.required,
                        "satisfied": result.satisfied,
                        "is_complete": result.is_complete,
                        "missing": [m.as_dict() for m in result.missing] or None,
                    }
                )
    return rows


def recompute_completeness(
    conn: Connection,
    snapshot: CatalogSnapshot,
    channels: Sequence[str] | None = None,
    family: str | None = None,
    batch_size: int = 5000,
) -> int:
    """Recompute stored completeness in bulk, batch by batch, inside the caller's transaction.

    Used when a channel's requirements or locales, or a family's required attributes, change.
    Returns how many products were recomputed.
    """
    channel_codes = list(channels) if channels is not None else list(snapshot.channels)
    channel_ids = [snapshot.channels[c].id for c in channel_codes]
    products = store.products
    parent = aliased(products)
    query = (
        select(
            products.c.id,
            products.c["values"],
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
        ids = [r.id for r in rows]
        conn.execute(
            delete(store.product_completeness).where(
                store.product_completeness.c.product_id.in_(ids),
                store.product_completeness.c.channel_id.in_(channel_ids),
            )
        )
        targets = ((r.id, effective_values(r.values, r.parent_values), r.family) for r in rows)
        new_rows = completeness_rows(snapshot, targets, channel_codes)
        if new_rows:
            conn.execute(insert(store.product_completeness), new_rows)
        done += len(rows)
        after = ids[-1]


def change_status(db: Database, sku: str, status: Status, actor: str) -> Status:
    """Move a product through the workflow (draft, in review, approved, archived)."""
    with db.transaction() as conn:
        row = conn.execute(
            select(store.products.c.id, store.products.c.status).where(store.products.c.sku == sku)
        ).first()
        if row is None:
            raise NotFound(f"product {sku!r} does not exist")
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
            .values(status=status.value, updated_at=now, version=store.products.c.version + 1)
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
        record_events(conn, PRODUCT_CHANGED, [(sku, {"sku": sku, "fields": ["status"]})])
    return status


def _targets(current: Status) -> set[Status]:
    from channelhub.catalog.model import TRANSITIONS

    return set(TRANSITIONS[current])
