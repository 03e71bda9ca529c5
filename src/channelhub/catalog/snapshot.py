"""The catalog's reference data (locales, attributes, families, channels, categories) loaded once.

Product writes consult it for every row, so it is read in a handful of queries per
transaction, not per product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from channelhub.catalog import store
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    ChannelRules,
    CompiledRules,
    Family,
    IdentifierKind,
    InvalidValue,
    Requirement,
    RuleKind,
    check_scope,
    compile_rules,
)


@dataclass(frozen=True)
class Channel:
    id: int
    code: str
    name: str
    kind: ChannelKind
    mode: ChannelMode
    locales: tuple[str, ...]
    currency: str


@dataclass
class CatalogSnapshot:
    locales: set[str]
    attributes: dict[str, Attribute]
    families: dict[str, Family]
    family_ids: dict[str, int]
    channels: dict[str, Channel]
    channel_rules: dict[str, ChannelRules]
    category_ids: dict[str, int]
    _rules_cache: dict[tuple[str, str | None], list[Requirement]] = field(default_factory=dict)
    _compiled_cache: dict[tuple[str, str | None], CompiledRules] = field(default_factory=dict)
    _scope_cache: dict[tuple[str, str | None, str | None], str | None] = field(default_factory=dict)

    @property
    def family_by_id(self) -> dict[int, Family]:
        return {fid: self.families[code] for code, fid in self.family_ids.items()}

    def rules(self, channel: str, family: Family | None) -> list[Requirement]:
        """The requirements one channel puts on products of one family (cached)."""
        key = (channel, family.code if family else None)
        cached = self._rules_cache.get(key)
        if cached is None:
            cached = self.channel_rules[channel].for_family(family)
            self._rules_cache[key] = cached
        return cached

    def compiled(self, channel: str, family: Family | None) -> CompiledRules:
        """The channel's checks for one family, compiled once per snapshot."""
        key = (channel, family.code if family else None)
        cached = self._compiled_cache.get(key)
        if cached is None:
            cached = compile_rules(
                self.channel_rules[channel], family, self.attributes, self.rules(channel, family)
            )
            self._compiled_cache[key] = cached
        return cached

    def scope_problem(self, attribute: str, locale: str | None, channel: str | None) -> str | None:
        """Why a value of ``attribute`` cannot be held at this scope, or None (cached)."""
        key = (attribute, locale, channel)
        if key in self._scope_cache:
            return self._scope_cache[key]
        problem = self._scope_problem(attribute, locale, channel)
        self._scope_cache[key] = problem
        return problem

    def _scope_problem(self, code: str, locale: str | None, channel: str | None) -> str | None:
        attribute = self.attributes.get(code)
        if attribute is None:
            return f"attribute {code!r} does not exist"
        if locale is not None and locale not in self.locales:
            return f"locale {locale!r} is not enabled"
        if channel is not None:
            target = self.channels.get(channel)
            if target is None:
                return f"channel {channel!r} does not exist"
            if locale is not None and locale not in target.locales:
                return f"channel {channel} does not use locale {locale}"
        try:
            check_scope(attribute, channel, locale)
        except InvalidValue as error:
            return str(error)
        return None


def attribute_from_row(row: Row[Any]) -> Attribute:
    return Attribute(
        code=row.code,
        type=AttributeType(row.type),
        localizable=bool(row.localizable),
        scopable=bool(row.scopable),
        labels=dict(row.labels),
        options=tuple(row.options),
        max_length=row.max_length,
        units=tuple(row.units),
        identifier_kind=(IdentifierKind(row.identifier_kind) if row.identifier_kind else None),
    )


def family_from_row(row: Row[Any]) -> Family:
    return Family(
        code=row.code,
        attributes=tuple(row.attributes),
        required=tuple(row.required),
        variant_axes=tuple(row.variant_axes),
        labels=dict(row.labels),
    )


def channel_from_row(row: Row[Any]) -> Channel:
    return Channel(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=ChannelKind(row.kind),
        mode=ChannelMode(row.mode),
        locales=tuple(row.locales),
        currency=row.currency,
    )


def load_snapshot(conn: Connection) -> CatalogSnapshot:
    """Read all reference data in six queries."""
    locales = set(conn.execute(select(store.locales.c.code)).scalars())
    attributes = {
        a.code: a for a in map(attribute_from_row, conn.execute(select(store.attributes)))
    }
    families: dict[str, Family] = {}
    family_ids: dict[str, int] = {}
    family_codes: dict[int, str] = {}
    for row in conn.execute(select(store.families)):
        families[row.code] = family_from_row(row)
        family_ids[row.code] = row.id
        family_codes[row.id] = row.code
    channels: dict[str, Channel] = {}
    channel_codes: dict[int, str] = {}
    for row in conn.execute(select(store.channels)):
        channel = channel_from_row(row)
        channels[channel.code] = channel
        channel_codes[channel.id] = channel.code
    requirements: dict[str, list[Requirement]] = {code: [] for code in channels}
    for row in conn.execute(
        select(store.channel_requirements).order_by(store.channel_requirements.c.id)
    ):
        requirements[channel_codes[row.channel_id]].append(
            Requirement(
                attribute=row.attribute,
                rule=RuleKind(row.rule),
                param=row.param,
                locales=frozenset(row.locales) if row.locales is not None else None,
                family=family_codes[row.family_id] if row.family_id is not None else None,
            )
        )
    channel_rules = {
        code: ChannelRules(code, channels[code].locales, tuple(reqs))
        for code, reqs in requirements.items()
    }
    category_ids = {
        row.code: row.id
        for row in conn.execute(select(store.categories.c.code, store.categories.c.id))
    }
    return CatalogSnapshot(
        locales, attributes, families, family_ids, channels, channel_rules, category_ids
    )
