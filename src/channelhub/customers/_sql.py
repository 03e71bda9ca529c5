"""Hand-written SQL through the driver for the per-event hot path of identity resolution.

SQLAlchemy Core builds and caches each statement at a cost of a few hundred microseconds per
call; an event that runs eight statements would spend most of its time there. These helpers
send fixed SQL text with positional parameters instead, converting values the way the
columns' types store them (as ``core.bulk`` does), so both paths read back alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import Connection


class Sql:
    """Positional-parameter SQL (``?``) on SQLite and PostgreSQL alike."""

    __slots__ = ("conn", "is_pg")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_pg = conn.dialect.name == "postgresql"

    def text(self, sql: str) -> str:
        if self.is_pg:
            return sql.replace("?::jsonb", "%s::jsonb").replace("?", "%s")
        return sql.replace("?::jsonb", "?")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.conn.exec_driver_sql(self.text(sql), tuple(params)).all())

    def first(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.exec_driver_sql(self.text(sql), tuple(params)).first()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.exec_driver_sql(self.text(sql), tuple(params)).scalar()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.exec_driver_sql(self.text(sql), tuple(params))

    def run_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self.conn.exec_driver_sql(self.text(sql), [tuple(p) for p in params])

    def time(self, moment: datetime) -> Any:
        """A timestamp as UtcDateTime stores it."""
        if self.is_pg:
            return moment
        # SQLAlchemy's own format; strftime("%Y") would not zero-pad a year before 1000.
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def read_time(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)

    @staticmethod
    def json(value: Any) -> str:
        return orjson.dumps(value).decode()

    @staticmethod
    def read_json(value: Any) -> Any:
        if isinstance(value, str | bytes):
            return orjson.loads(value)
        return value
