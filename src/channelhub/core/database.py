"""One engine per database URL, with the pragmas and transaction style each database needs.

SQLite write transactions begin with ``BEGIN IMMEDIATE``: a deferred transaction that reads
and then writes fails at once with SQLITE_BUSY_SNAPSHOT when another connection committed in
between, whatever the busy timeout. pysqlite's own transaction handling is switched off so that
SQLAlchemy's ``begin`` event can issue the statement (the documented SQLAlchemy recipe).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.types import TypeDecorator

from channelhub.core.errors import InvalidInput
from channelhub.core.settings import get_settings

log = logging.getLogger("channelhub.core.database")
T = TypeVar("T")

#: SQLSTATEs PostgreSQL asks a client to retry: serialization failure, deadlock detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: A 64-bit key on PostgreSQL; plain INTEGER on SQLite, the only type it auto-increments.
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: JSON stored as JSONB on PostgreSQL and as text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; channelhub stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_loads(value: Any) -> Any:
    # A JSON column has NUMERIC affinity in SQLite, so a bare number comes back as a number.
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def create_database_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite (WAL, IMMEDIATE writes) or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=_json_loads,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine, get_settings().sqlite_busy_timeout_ms)
        return engine
    return create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
        pool_pre_ping=True,
        isolation_level="READ COMMITTED",
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("channelhub_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _refused_data() -> Iterator[None]:
    try:
        yield
    except DataError as error:
        reason = str(error.orig).splitlines()[0] if error.orig is not None else str(error)
        raise InvalidInput(f"the database refused a value: {reason}") from error


class Database:
    """The hub's store: hands out write transactions (units of work) and read connections."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or get_settings().database_url
        self.engine = create_database_engine(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on any error.

        A value the database refuses (a DataError: NUL in text on PostgreSQL, a number out of
        range) is the caller's input at fault: it surfaces as InvalidInput, not a crash.
        """
        with _refused_data(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection (a deferred transaction on SQLite, so readers never block)."""
        with _refused_data(), self.engine.connect() as conn:
            conn = conn.execution_options(channelhub_read_only=True)
            with conn.begin():
                yield conn

    def retrying(self, work: Callable[[Connection], T], attempts: int = 8) -> T:
        """Run ``work`` in a write transaction, again from the start when the database asks
        for a retry (a deadlock or serialization failure on PostgreSQL, a busy SQLite): the
        price of many workers sharing rows. Any other error is raised at once."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
                pause = min(1.0, 0.01 * 2**attempt) * (0.5 + random.random())
                log.info("retrying a transaction (%s) in %.3f s", _sqlstate(error), pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlstate(error: DBAPIError) -> str:
    return str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", "") or "")


def is_retryable(error: BaseException) -> bool:
    """Whether a database error goes away when the transaction is simply run again."""
    if not isinstance(error, DBAPIError):
        return False
    if _sqlstate(error) in RETRYABLE_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)
