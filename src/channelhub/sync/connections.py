"""Connections: a channel joined to a platform account through a connector, with its
configuration (validated by the connector's schema), its secrets (encrypted at rest, never
returned or logged), what it subscribes to, its field mapping and its schedules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from channelhub.catalog.service import find_channel
from channelhub.connectors.base import Capability, Connector, ConnectorConfig
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound, Problem
from channelhub.sync import registry, secrets
from channelhub.sync.mapping import MappingSpec
from channelhub.sync.model import REDACTED, JobKind
from channelhub.sync.store import connections

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")

#: The capability each subscription needs from the connector.
NEEDS: dict[JobKind, tuple[Capability, ...]] = {
    JobKind.LISTINGS: (Capability.PUSH_LISTINGS,),
    JobKind.STOCK: (Capability.PUSH_STOCK,),
    JobKind.PRICES: (Capability.PUSH_PRICES,),
    JobKind.ORDERS: (Capability.PULL_ORDERS, Capability.RECEIVE_WEBHOOKS),
    JobKind.FULFILMENTS: (Capability.PUSH_FULFILMENTS, Capability.PUSH_CANCELLATIONS),
}


@dataclass(frozen=True)
class ConnectionInput:
    code: str
    platform: str
    channel: str
    config: dict[str, Any]
    subscriptions: tuple[JobKind, ...] = ()
    enabled: bool = True
    mapping: dict[str, Any] = field(default_factory=dict)
    poll_seconds: int | None = None
    reconcile_seconds: int | None = None


@dataclass(frozen=True)
class ConnectionView:
    """A connection as shown to people and the API: secrets masked."""

    code: str
    platform: str
    channel: str
    config: dict[str, Any]
    subscriptions: list[str]
    enabled: bool
    mapping: dict[str, Any]
    poll_seconds: int | None
    reconcile_seconds: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConnectionRecord:
    """A connection as the engine uses it: the decrypted configuration and its connector."""

    id: int
    code: str
    platform: str
    channel: str
    config: ConnectorConfig
    secret_values: tuple[str, ...]
    subscriptions: frozenset[JobKind]
    enabled: bool
    mapping: MappingSpec
    connector_class: type[Connector]
    poll_seconds: int | None
    reconcile_seconds: int | None

    def connector(self, http: Any) -> Connector:
        return self.connector_class(self.config, http)


def _split_secrets(config: ConnectorConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain fields, secret fields) of a validated configuration."""
    plain: dict[str, Any] = {}
    hidden: dict[str, Any] = {}
    dumped = config.model_dump(mode="json")
    for name in type(config).model_fields:
        value = getattr(config, name)
        if isinstance(value, SecretStr):
            hidden[name] = value.get_secret_value()
        elif isinstance(value, list | tuple) and value and isinstance(value[0], SecretStr):
            hidden[name] = [v.get_secret_value() for v in value]
        else:
            plain[name] = dumped[name]
    return plain, hidden


def _secret_strings(hidden: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for value in hidden.values():
        found.extend(value if isinstance(value, list) else [value])
    return tuple(str(v) for v in found if v)


def _validate_config(cls: type[Connector], values: dict[str, Any]) -> ConnectorConfig:
    try:
        return cls.config_model.model_validate(values)
    except ValidationError as error:
        problems = [
            Problem("config." + ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in error.errors(include_input=False)
        ]
        raise InvalidInput(f"the {cls.platform} configuration is not valid", problems) from None


def save_connection(db: Database, spec: ConnectionInput) -> ConnectionView:
    """Create a connection or update it. Secret fields left out of an update keep their value."""
    if not CODE.match(spec.code):
        raise InvalidInput("a connection code holds a-z, 0-9, _ and - (up to 100)")
    cls = registry.connector_class(spec.platform)
    for kind in spec.subscriptions:
        if not any(c in cls.capabilities for c in NEEDS[kind]):
            raise InvalidInput(f"the {spec.platform} connector cannot handle {kind.value}")
    for name, seconds in (
        ("poll_seconds", spec.poll_seconds),
        ("reconcile", spec.reconcile_seconds),
    ):
        if seconds is not None and not 1 <= seconds <= 86_400:
            raise InvalidInput(f"{name} is between 1 and 86400 seconds")
    mapping = MappingSpec.parse(spec.mapping)
    with db.transaction() as conn:
        find_channel(conn, spec.channel)
        row = conn.execute(select(connections).where(connections.c.code == spec.code)).first()
        given = dict(spec.config)
        if row is not None and row.platform == spec.platform:
            for name, value in secrets.unseal(row.secrets).items():
                given.setdefault(name, value)
        plain, hidden = _split_secrets(_validate_config(cls, given))
        now = utcnow()
        values = {
            "platform": spec.platform,
            "channel": spec.channel,
            "config": plain,
            "secrets": secrets.seal(hidden),
            "enabled": spec.enabled,
            "subscriptions": sorted(k.value for k in spec.subscriptions),
            "mapping": mapping.model_dump(mode="json"),
            "poll_seconds": spec.poll_seconds,
            "reconcile_seconds": spec.reconcile_seconds,
            "next_poll_at": now if spec.poll_seconds else None,
            "next_reconcile_at": now if spec.reconcile_seconds else None,
            "updated_at": now,
        }
        if row is None:
            conn.execute(insert(connections).values(code=spec.code, created_at=now, **values))
        else:
            conn.execute(update(connections).where(connections.c.id == row.id).values(**values))
        return _view(_find_row(conn, spec.code))


def _find_row(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(select(connections).where(connections.c.code == code)).first()
    if row is None:
        raise NotFound(f"connection {code!r} does not exist")
    return row


def _view(row: Row[Any]) -> ConnectionView:
    config = dict(row.config)
    try:
        cls = registry.connector_class(row.platform)
        for name in cls.config_model.model_fields:
            config.setdefault(name, REDACTED)
    except InvalidInput:
        pass
    return ConnectionView(
        row.code,
        row.platform,
        row.channel,
        config,
        list(row.subscriptions),
        bool(row.enabled),
        dict(row.mapping),
        row.poll_seconds,
        row.reconcile_seconds,
        row.created_at,
        row.updated_at,
    )


def record_from_row(row: Row[Any]) -> ConnectionRecord:
    """The engine's view of a stored connection (decrypts its secrets)."""
    cls = registry.connector_class(row.platform)
    hidden = secrets.unseal(row.secrets)
    config = _validate_config(cls, {**dict(row.config), **hidden})
    return ConnectionRecord(
        id=row.id,
        code=row.code,
        platform=row.platform,
        channel=row.channel,
        config=config,
        secret_values=_secret_strings(hidden),
        subscriptions=frozenset(JobKind(s) for s in row.subscriptions),
        enabled=bool(row.enabled),
        mapping=MappingSpec.parse(dict(row.mapping)),
        connector_class=cls,
        poll_seconds=row.poll_seconds,
        reconcile_seconds=row.reconcile_seconds,
    )


def get_connection(db: Database, code: str) -> ConnectionView:
    with db.read() as conn:
        return _view(_find_row(conn, code))


def load_connection(db: Database, code: str) -> ConnectionRecord:
    with db.read() as conn:
        return record_from_row(_find_row(conn, code))


def load_connections(conn: Connection, ids: Sequence[int] | None = None) -> list[ConnectionRecord]:
    """Every enabled connection whose connector is available (or those of ``ids``)."""
    query = select(connections).where(connections.c.enabled.is_(True))
    if ids is not None:
        query = query.where(connections.c.id.in_(list(ids)))
    found = []
    for row in conn.execute(query.order_by(connections.c.id)):
        try:
            found.append(record_from_row(row))
        except InvalidInput:
            continue  # its connector is not installed: its jobs wait for it
    return found


def list_connections(db: Database) -> list[ConnectionView]:
    with db.read() as conn:
        return [_view(r) for r in conn.execute(select(connections).order_by(connections.c.code))]


def set_enabled(db: Database, code: str, enabled: bool) -> ConnectionView:
    with db.transaction() as conn:
        row = _find_row(conn, code)
        conn.execute(
            update(connections)
            .where(connections.c.id == row.id)
            .values(enabled=enabled, updated_at=utcnow())
        )
        return _view(_find_row(conn, code))
