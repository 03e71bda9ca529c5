"""Catalog reference data: locales, channels, attributes, families, categories, requirements.

Every change that alters what a channel requires recomputes the stored completeness of the
products it touches, in bulk and in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from babel.numbers import is_currency
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from channelhub.catalog import store
from channelhub.catalog.model import (
    CODE_PATTERN,
    LOCALE_PATTERN,
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    IdentifierKind,
    Requirement,
    RuleKind,
)
from channelhub.catalog.presets import PRESETS
from channelhub.catalog.products import recompute_completeness
from channelhub.catalog.snapshot import (
    Channel,
    attribute_from_row,
    channel_from_row,
    family_from_row,
    load_snapshot,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound, ProblemList

AXIS_TYPES = {
    AttributeType.SELECT,
    AttributeType.BOOLEAN,
    AttributeType.TEXT,
    AttributeType.NUMBER,
    AttributeType.MEASUREMENT,
}


def _check_code(code: str, what: str) -> None:
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise InvalidInput(
            f"{what} code {code!r} must start with a lower-case letter and hold only a-z, 0-9 and _"
        )


# --- locales ------------------------------------------------------------------------------


def add_locale(db: Database, code: str, label: str = "") -> None:
    """Enable a locale such as ``en_US`` or ``nl_NL``."""
    if not LOCALE_PATTERN.match(code):
        raise InvalidInput(f"locale {code!r} must look like en or en_US")
    with db.transaction() as conn:
        known = conn.execute(
            select(store.locales.c.code).where(store.locales.c.code == code)
        ).first()
        if known is None:
            conn.execute(insert(store.locales).values(code=code, label=label))
        elif label:
            conn.execute(
                update(store.locales).where(store.locales.c.code == code).values(label=label)
            )


def list_locales(db: Database) -> list[tuple[str, str]]:
    with db.read() as conn:
        return [
            (r.code, r.label)
            for r in conn.execute(select(store.locales).order_by(store.locales.c.code))
        ]


# --- channels -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelInput:
    code: str
    name: str
    kind: ChannelKind
    mode: ChannelMode
    locales: tuple[str, ...]
    currency: str


def save_channel(db: Database, spec: ChannelInput) -> Channel:
    """Create a channel or update it; a change of locales recomputes its completeness."""
    _check_code(spec.code, "channel")
    problems = ProblemList()
    if not spec.name.strip():
        problems.add("name", "a channel needs a name")
    if not spec.locales:
        problems.add("locales", "a channel needs at least one locale")
    if not is_currency(spec.currency):
        problems.add("currency", f"{spec.currency!r} is not an ISO 4217 currency code")
    problems.raise_if_any(f"channel {spec.code} is not valid")
    with db.transaction() as conn:
        known = set(conn.execute(select(store.locales.c.code)).scalars())
        unknown = [loc for loc in spec.locales if loc not in known]
        if unknown:
            raise InvalidInput(f"locale(s) {', '.join(unknown)} are not enabled; add them first")
        row = conn.execute(select(store.channels).where(store.channels.c.code == spec.code)).first()
        values = {
            "name": spec.name.strip(),
            "kind": spec.kind.value,
            "mode": spec.mode.value,
            "locales": list(dict.fromkeys(spec.locales)),
            "currency": spec.currency,
        }
        if row is None:
            conn.execute(
                insert(store.channels).values(code=spec.code, created_at=utcnow(), **values)
            )
        else:
            conn.execute(
                update(store.channels).where(store.channels.c.id == row.id).values(**values)
            )
        if row is None or list(row.locales) != values["locales"]:
            recompute_completeness(conn, load_snapshot(conn), channels=[spec.code])
        return find_channel(conn, spec.code)


def get_channel(db: Database, code: str) -> Channel:
    with db.read() as conn:
        return find_channel(conn, code)


def find_channel(conn: Connection, code: str) -> Channel:
    """The channel with this code, inside the caller's transaction, or NotFound."""
    row = conn.execute(select(store.channels).where(store.channels.c.code == code)).first()
    if row is None:
        raise NotFound(f"channel {code!r} does not exist")
    return channel_from_row(row)


def list_channels(db: Database) -> list[Channel]:
    with db.read() as conn:
        return [
            channel_from_row(r)
            for r in conn.execute(select(store.channels).order_by(store.channels.c.code))
        ]


# --- attributes ---------------------------------------------------------------------------


def save_attribute(db: Database, attribute: Attribute) -> Attribute:
    """Create an attribute, or update its labels, options, limits and units.

    Its type and scoping are fixed once created: products' stored values depend on them.
    """
    _check_code(attribute.code, "attribute")
    problems = ProblemList()
    if attribute.type in (AttributeType.SELECT, AttributeType.MULTISELECT):
        if not attribute.options:
            problems.add("options", f"a {attribute.type.value} attribute needs options")
        for option in attribute.options:
            if not isinstance(option, str) or not option or len(option) > 100:
                problems.add("options", f"option {option!r} must be 1 to 100 characters")
        if len(set(attribute.options)) != len(attribute.options):
            problems.add("options", "options repeat")
    elif attribute.options:
        problems.add("options", f"a {attribute.type.value} attribute has no options")
    if attribute.max_length is not None:
        if attribute.type not in (AttributeType.TEXT, AttributeType.TEXTAREA):
            problems.add("max_length", "only text attributes have a maximum length")
        elif not 1 <= attribute.max_length <= 65_535:
            problems.add("max_length", "max_length must be between 1 and 65535")
    if attribute.units and attribute.type is not AttributeType.MEASUREMENT:
        problems.add("units", "only measurement attributes have units")
    if attribute.identifier_kind is not None and attribute.type is not AttributeType.IDENTIFIER:
        problems.add("identifier_kind", "only identifier attributes have an identifier kind")
    if attribute.type is AttributeType.IDENTIFIER and (attribute.localizable or attribute.scopable):
        problems.add("localizable", "an identifier is neither localizable nor scopable")
    problems.raise_if_any(f"attribute {attribute.code} is not valid")
    row_values = {
        "type": attribute.type.value,
        "localizable": attribute.localizable,
        "scopable": attribute.scopable,
        "labels": dict(attribute.labels),
        "options": list(attribute.options),
        "max_length": attribute.max_length,
        "units": list(attribute.units),
        "identifier_kind": (
            (attribute.identifier_kind or IdentifierKind.OTHER).value
            if attribute.type is AttributeType.IDENTIFIER
            else None
        ),
    }
    with db.transaction() as conn:
        row = conn.execute(
            select(store.attributes).where(store.attributes.c.code == attribute.code)
        ).first()
        if row is None:
            conn.execute(insert(store.attributes).values(code=attribute.code, **row_values))
        else:
            old = attribute_from_row(row)
            fixed = [
                name
                for name in ("type", "localizable", "scopable", "identifier_kind")
                if getattr(old, name)
                != getattr(attribute_from_row_like(row_values, attribute.code), name)
            ]
            if fixed:
                raise Conflict(
                    f"attribute {attribute.code}: {', '.join(fixed)} cannot change once created"
                )
            removed = [o for o in old.options if o not in attribute.options]
            if removed:
                raise Conflict(
                    f"attribute {attribute.code}: options {', '.join(removed)} cannot be removed"
                )
            conn.execute(
                update(store.attributes).where(store.attributes.c.id == row.id).values(**row_values)
            )
        return attribute_from_row(
            conn.execute(
                select(store.attributes).where(store.attributes.c.code == attribute.code)
            ).one()
        )


def attribute_from_row_like(values: dict[str, Any], code: str) -> Attribute:
    return Attribute(
        code=code,
        type=AttributeType(values["type"]),
        localizable=values["localizable"],
        scopable=values["scopable"],
        identifier_kind=IdentifierKind(values["identifier_kind"])
        if values["identifier_kind"]
        else None,
    )


def get_attribute(db: Database, code: str) -> Attribute:
    with db.read() as conn:
        row = conn.execute(select(store.attributes).where(store.attributes.c.code == code)).first()
    if row is None:
        raise NotFound(f"attribute {code!r} does not exist")
    return attribute_from_row(row)


def list_attributes(db: Database) -> list[Attribute]:
    with db.read() as conn:
        return [
            attribute_from_row(r)
            for r in conn.execute(select(store.attributes).order_by(store.attributes.c.code))
        ]


# --- families -----------------------------------------------------------------------------


def save_family(db: Database, family: Family) -> Family:
    """Create or update a family; its products' completeness is recomputed in bulk."""
    _check_code(family.code, "family")
    with db.transaction() as conn:
        known = {a.code: a for a in map(attribute_from_row, conn.execute(select(store.attributes)))}
        problems = ProblemList()
        for code in family.attributes:
            if code not in known:
                problems.add("attributes", f"attribute {code!r} does not exist")
        if len(set(family.attributes)) != len(family.attributes):
            problems.add("attributes", "attributes repeat")
        for code in family.required:
            if code not in family.attributes:
                problems.add(
                    "required", f"required attribute {code} is not among the family's attributes"
                )
        for code in family.variant_axes:
            attribute = known.get(code)
            if code not in family.attributes or attribute is None:
                problems.add("variant_axes", f"axis {code} is not among the family's attributes")
            elif attribute.localizable or attribute.scopable or attribute.type not in AXIS_TYPES:
                problems.add(
                    "variant_axes",
                    f"axis {code} must be a non-localizable, non-scopable select, boolean, "
                    "text, number or measurement",
                )
        problems.raise_if_any(f"family {family.code} is not valid")
        values = {
            "labels": dict(family.labels),
            "attributes": list(family.attributes),
            "required": list(family.required),
            "variant_axes": list(family.variant_axes),
        }
        row = conn.execute(
            select(store.families).where(store.families.c.code == family.code)
        ).first()
        if row is None:
            conn.execute(insert(store.families).values(code=family.code, **values))
        else:
            if list(row.variant_axes) != values["variant_axes"]:
                has_variants = conn.execute(
                    select(func.count())
                    .select_from(store.products)
                    .where(store.products.c.family_id == row.id, store.products.c.kind == "variant")
                ).scalar_one()
                if has_variants:
                    raise Conflict(f"family {family.code} has variants; its axes cannot change")
            conn.execute(
                update(store.families).where(store.families.c.id == row.id).values(**values)
            )
            if list(row.required) != values["required"]:
                recompute_completeness(conn, load_snapshot(conn), family=family.code)
        return family_from_row(
            conn.execute(select(store.families).where(store.families.c.code == family.code)).one()
        )


def get_family(db: Database, code: str) -> Family:
    with db.read() as conn:
        row = conn.execute(select(store.families).where(store.families.c.code == code)).first()
    if row is None:
        raise NotFound(f"family {code!r} does not exist")
    return family_from_row(row)


def list_families(db: Database) -> list[Family]:
    with db.read() as conn:
        return [
            family_from_row(r)
            for r in conn.execute(select(store.families).order_by(store.families.c.code))
        ]


# --- categories ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    code: str
    parent: str | None
    path: str
    labels: dict[str, str]


def save_category(
    db: Database, code: str, parent: str | None, labels: dict[str, str] | None = None
) -> Category:
    """Create or move a category; moving it moves its whole subtree."""
    _check_code(code, "category")
    categories = store.categories
    with db.transaction() as conn:
        parent_row = None
        if parent is not None:
            parent_row = conn.execute(select(categories).where(categories.c.code == parent)).first()
            if parent_row is None:
                raise NotFound(f"parent category {parent!r} does not exist")
        path = (parent_row.path if parent_row else "/") + code + "/"
        row = conn.execute(select(categories).where(categories.c.code == code)).first()
        if row is None:
            conn.execute(
                insert(categories).values(
                    code=code,
                    parent_id=parent_row.id if parent_row else None,
                    path=path,
                    labels=labels or {},
                )
            )
        else:
            if parent_row is not None and parent_row.path.startswith(row.path):
                raise Conflict(f"category {code} cannot move under its own subtree ({parent})")
            if row.path != path:
                for sub in conn.execute(
                    select(categories.c.id, categories.c.path).where(
                        categories.c.path.startswith(row.path, autoescape=True)
                    )
                ).all():
                    conn.execute(
                        update(categories)
                        .where(categories.c.id == sub.id)
                        .values(path=path + sub.path[len(row.path) :])
                    )
            conn.execute(
                update(categories)
                .where(categories.c.id == row.id)
                .values(
                    parent_id=parent_row.id if parent_row else None,
                    labels=labels if labels is not None else row.labels,
                )
            )
        saved = conn.execute(select(categories).where(categories.c.code == code)).one()
    return Category(code, parent, saved.path, dict(saved.labels))


def list_categories(db: Database) -> list[Category]:
    categories = store.categories
    parent = categories.alias("parent")
    with db.read() as conn:
        rows = conn.execute(
            select(categories, parent.c.code.label("parent_code"))
            .outerjoin(parent, parent.c.id == categories.c.parent_id)
            .order_by(categories.c.path)
        )
        return [Category(r.code, r.parent_code, r.path, dict(r.labels)) for r in rows]


# --- channel requirements -----------------------------------------------------------------


@dataclass(frozen=True)
class StoredRequirement:
    id: int
    channel: str
    requirement: Requirement


_PARAM_RULES = {
    RuleKind.MAX_LENGTH: int,
    RuleKind.MIN_LENGTH: int,
    RuleKind.MIN_ITEMS: int,
    RuleKind.MAX_ITEMS: int,
    RuleKind.MIN_VALUE: (int, float, str),
    RuleKind.MAX_VALUE: (int, float, str),
    RuleKind.ALLOWED_VALUES: list,
}


def _check_requirement(requirement: Requirement) -> None:
    _check_code(requirement.attribute, "attribute")
    expected = _PARAM_RULES.get(requirement.rule)
    if expected is None:
        if requirement.param is not None:
            raise InvalidInput(f"rule {requirement.rule.value} takes no parameter")
        return
    param = requirement.param
    if param is None or isinstance(param, bool) or not isinstance(param, expected):  # type: ignore[arg-type]
        raise InvalidInput(f"rule {requirement.rule.value} needs a parameter")
    if isinstance(param, int) and param < 0:
        raise InvalidInput(f"rule {requirement.rule.value} needs a non-negative parameter")
    if requirement.rule in (RuleKind.MIN_VALUE, RuleKind.MAX_VALUE):
        from decimal import Decimal, InvalidOperation

        try:
            if not Decimal(str(param)).is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise InvalidInput(f"rule {requirement.rule.value} needs a number") from None
    if requirement.rule is RuleKind.ALLOWED_VALUES and not all(isinstance(x, str) for x in param):
        raise InvalidInput("allowed_values takes a list of texts")


def add_requirements(
    db: Database, channel: str, requirements: Sequence[Requirement]
) -> list[StoredRequirement]:
    """Add rules to a channel and recompute the completeness of the products they concern."""
    for requirement in requirements:
        _check_requirement(requirement)
    with db.transaction() as conn:
        _add_requirements(conn, channel, requirements)
        return _requirements(conn, channel)


def _add_requirements(conn: Connection, channel: str, requirements: Sequence[Requirement]) -> None:
    snapshot = load_snapshot(conn)
    target = snapshot.channels.get(channel)
    if target is None:
        raise NotFound(f"channel {channel!r} does not exist")
    rows = []
    for requirement in requirements:
        if requirement.family is not None and requirement.family not in snapshot.family_ids:
            raise NotFound(f"family {requirement.family!r} does not exist")
        if requirement.locales is not None:
            stray = sorted(set(requirement.locales) - set(target.locales))
            if stray:
                raise InvalidInput(f"channel {channel} does not use locale(s) {', '.join(stray)}")
        rows.append(
            {
                "channel_id": target.id,
                "family_id": snapshot.family_ids[requirement.family]
                if requirement.family
                else None,
                "attribute": requirement.attribute,
                "rule": requirement.rule.value,
                "param": requirement.param,
                "locales": sorted(requirement.locales) if requirement.locales is not None else None,
            }
        )
    if rows:
        conn.execute(insert(store.channel_requirements), rows)
        _recompute_for(conn, channel, {r.family for r in requirements})


def remove_requirement(db: Database, channel: str, requirement_id: int) -> None:
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        row = conn.execute(
            select(store.channel_requirements, store.families.c.code.label("family"))
            .outerjoin(
                store.families, store.families.c.id == store.channel_requirements.c.family_id
            )
            .where(
                store.channel_requirements.c.id == requirement_id,
                store.channel_requirements.c.channel_id == target.id,
            )
        ).first()
        if row is None:
            raise NotFound(f"channel {channel} has no requirement {requirement_id}")
        conn.execute(
            delete(store.channel_requirements).where(
                store.channel_requirements.c.id == requirement_id
            )
        )
        _recompute_for(conn, channel, {row.family})


def _recompute_for(conn: Connection, channel: str, families: set[str | None]) -> None:
    snapshot = load_snapshot(conn)
    if None in families:
        recompute_completeness(conn, snapshot, channels=[channel])
        return
    for family in sorted(f for f in families if f is not None):
        recompute_completeness(conn, snapshot, channels=[channel], family=family)


def list_requirements(db: Database, channel: str) -> list[StoredRequirement]:
    with db.read() as conn:
        return _requirements(conn, channel)


def _requirements(conn: Connection, channel: str) -> list[StoredRequirement]:
    target = find_channel(conn, channel)
    rows = conn.execute(
        select(store.channel_requirements, store.families.c.code.label("family"))
        .outerjoin(store.families, store.families.c.id == store.channel_requirements.c.family_id)
        .where(store.channel_requirements.c.channel_id == target.id)
        .order_by(store.channel_requirements.c.id)
    )
    return [
        StoredRequirement(
            r.id,
            channel,
            Requirement(
                r.attribute,
                RuleKind(r.rule),
                r.param,
                frozenset(r.locales) if r.locales is not None else None,
                r.family,
            ),
        )
        for r in rows
    ]


def apply_preset(
    db: Database, channel: str, preset: str, attribute_map: dict[str, str] | None = None
) -> list[StoredRequirement]:
    """Replace a channel's requirements by a marketplace preset (e.g. google_merchant).

    ``attribute_map`` renames the preset's attribute codes to the catalog's own.
    """
    rules = PRESETS.get(preset)
    if rules is None:
        raise NotFound(f"no preset {preset!r}; choose from {', '.join(sorted(PRESETS))}")
    mapping = attribute_map or {}
    renamed = [
        Requirement(mapping.get(r.attribute, r.attribute), r.rule, r.param, r.locales, r.family)
        for r in rules
    ]
    for requirement in renamed:
        _check_requirement(requirement)
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        conn.execute(
            delete(store.channel_requirements).where(
                store.channel_requirements.c.channel_id == target.id
            )
        )
        _add_requirements(conn, channel, renamed)
        if not renamed:
            recompute_completeness(conn, load_snapshot(conn), channels=[channel])
        return _requirements(conn, channel)
