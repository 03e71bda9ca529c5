"""Fixtures giving each test a fresh, migrated database of either kind.

Every test that takes ``db`` runs twice: on SQLite and on PostgreSQL. PostgreSQL comes from
``CHANNELHUB_TEST_DATABASE_URL`` (default postgresql://postgres@127.0.0.1:5432/test); each
test session creates its own scratch database there and drops it at the end. Where no server
answers, the PostgreSQL runs are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.core.tables import metadata

PG_URL = os.environ.get("CHANNELHUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    if "reason" not in _pg_state:
        try:
            engine = create_engine(_pg_admin_url(), connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as error:  # any failure to connect means "skip, and say why"
            _pg_state["reason"] = f"no PostgreSQL at {PG_URL}: {type(error).__name__}: {error}"
    return _pg_state["reason"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    name = f"chtest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _used_tables_query() -> str:
    """One statement naming every table that holds a row."""
    return " UNION ALL ".join(
        f"(SELECT '{t.name}' AS name FROM \"{t.name}\" LIMIT 1)" for t in metadata.sorted_tables
    )


_MOVED_SEQUENCES = (
    "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences "
    "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def _reset(db: Database) -> None:
    """Empty what the previous test wrote and restart the id sequences it moved.

    A TRUNCATE of all 76 tables took 2-3 s a test on a busy machine. Finding the tables in use
    takes milliseconds, and a DELETE of the few small ones (children first) is cheaper than a
    TRUNCATE, which makes new files for every table it names.
    """
    with db.engine.begin() as conn:
        used = {row[0] for row in conn.execute(text(_used_tables_query()))}
        for table in reversed(metadata.sorted_tables):
            if table.name in used:
                conn.execute(table.delete())
        for (sequence,) in conn.execute(text(_MOVED_SEQUENCES)).all():
            conn.execute(text("SELECT setval(:sequence, 1, false)"), {"sequence": sequence})


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh migrated database: SQLite (a copy of a migrated template) or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_database"))
        _reset(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests whose subject is SQLite itself."""
    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reason = _pg_state.get("reason")
    if reason:
        terminalreporter.write_line(f"PostgreSQL tests were SKIPPED: {reason}", yellow=True)
    elif "reason" in _pg_state:
        terminalreporter.write_line(f"PostgreSQL tests ran against {PG_URL}", green=True)
