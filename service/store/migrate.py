"""Apply Alembic migrations (at start-up and through `gitferry db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from service.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.engine.url.render_as_string(hide_password=False))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database schema to `revision`."""
    if db.sqlite:
        # Alembic manages its own transaction; SQLite's driver-level autocommit is fine for DDL.
        command.upgrade(alembic_config(db), revision)
        return
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # a migration may take its time
        config = alembic_config(db)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
