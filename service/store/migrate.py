"""Apply Alembic migrations (at start-up and through `gitferry db upgrade`).

Web, worker and beat may start together on a fresh database: they take turns (a PostgreSQL
advisory lock, a file lock beside a SQLite file), so the first creates the schema and the others
find it done.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from service.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x67697466  # the advisory lock's key: any number no other code of the database uses


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.engine.url.render_as_string(hide_password=False))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database schema to `revision`."""
    if db.sqlite:
        # Alembic manages its own transaction; SQLite's driver-level autocommit is fine for DDL.
        with _file_lock(db.engine.url.database):
            command.upgrade(alembic_config(db), revision)
        return
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # a migration may take its time
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(db)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
