"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from channelhub.core.database import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the database schema up to ``revision`` (the newest by default)."""
    config = alembic_config(db.url)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_state(db: Database) -> str:
    """How the database's schema compares with this code's migrations: "current", "ahead"
    (it has migrations this code does not know: a newer release is rolling out) or
    "behind" (this code needs migrations it has not got)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(db.url))
    known = {revision.revision for revision in script.walk_revisions()}
    with db.engine.connect() as conn:
        applied = set(MigrationContext.configure(conn).get_current_heads())
    if applied - known:
        return "ahead"
    return "current" if applied == set(script.get_heads()) else "behind"
