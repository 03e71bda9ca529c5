"""Driver-level bulk inserts for hot paths (imports), on SQLite and PostgreSQL alike.

SQLAlchemy's per-row parameter processing costs several microseconds a row; an import of
millions of rows writes tuples straight to the driver's ``executemany`` instead. Values are
prepared here the way SQLAlchemy's own types would store them, so both paths read back alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Table
from sqlalchemy.engine import Connection

from channelhub.core.database import UtcDateTime


class BulkInsert:
    """A prepared ``INSERT`` of some columns of one table, for tuples of Python values."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        self.conn = conn
        self.is_sqlite = conn.dialect.name == "sqlite"
        placeholders = []
        self._json: list[int] = []
        self._time: list[int] = []
        self._bool: list[int] = []
        for index, name in enumerate(columns):
            column_type = table.c[name].type
            if isinstance(column_type, JSON):
                self._json.append(index)
                placeholders.append("?" if self.is_sqlite else "%s::jsonb")
            else:
                if isinstance(column_type, UtcDateTime):
                    self._time.append(index)
                elif isinstance(column_type, Boolean):
                    self._bool.append(index)
                placeholders.append("?" if self.is_sqlite else "%s")
        quoted = ", ".join(f'"{name}"' for name in columns)
        self.sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(placeholders)})'

    def time(self, moment: datetime) -> Any:
        """A timestamp as the column stores it (SQLite: SQLAlchemy's text format, in UTC)."""
        if self.is_sqlite:
            # SQLAlchemy's own format; strftime("%Y") would not zero-pad a year before 1000.
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return moment

    def run(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        prepared: list[tuple[Any, ...]] = []
        json_columns, time_columns, bool_columns = self._json, self._time, self._bool
        dumps = orjson.dumps
        times: dict[datetime, str] = {}
        for row in rows:
            values = list(row)
            for i in json_columns:
                if values[i] is not None:
                    values[i] = dumps(values[i]).decode()
            if self.is_sqlite:
                for i in time_columns:
                    moment = values[i]
                    if moment is not None:
                        # A batch usually stamps every row with one moment: format it once.
                        text = times.get(moment)
                        if text is None:
                            text = times[moment] = self.time(moment)
                        values[i] = text
                for i in bool_columns:
                    if values[i] is not None:
                        values[i] = 1 if values[i] else 0
            prepared.append(tuple(values))
        self.conn.exec_driver_sql(self.sql, prepared)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk-insert rows given as dicts with the same keys (the first row's keys are the columns)."""
    if not rows:
        return
    columns = list(rows[0])
    BulkInsert(conn, table, columns).run([tuple(row[c] for c in columns) for row in rows])
