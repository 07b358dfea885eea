"""State: SQLAlchemy tables, Alembic migrations and one store per kind of record.

Only this package touches the database: it returns typed records (service.domain.records), and
its callers never open a transaction of their own.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.domain.forge import ForgeConfig
from service.store.backups import BackupStore
from service.store.db import Database
from service.store.deliveries import DeliveryStore, Intake
from service.store.forges import Complete, ForgeStore
from service.store.jobs import JobStore
from service.store.notifications import NotificationStore
from service.store.refused import RefusedDeliveryStore
from service.store.repos import NameTaken, RepoStore
from service.store.rules import RuleStore
from service.store.secrets import Sealer, SecretKeyMissing
from service.store.tokens import TokenStore

__all__ = ["Database", "DatabaseUnavailable", "Intake", "NameTaken", "SecretKeyMissing", "Store", "why_unavailable"]
# What a store call raises when the database cannot be reached, went away mid-call, or cannot
# take a write (disk full): through SQLAlchemy, or from a hand-written statement on the driver.
DatabaseUnavailable = (OperationalError, psycopg.OperationalError, sqlite3.OperationalError)


def why_unavailable(exc: BaseException) -> str:
    """The first line of the driver's own account of a DatabaseUnavailable (drivers show no password)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


class Store:
    """Every store over one database. `secret_key` opens stored forge secrets; `forges` are the
    configured ones (GITFERRY_CONFIG); `complete_forge` makes a stored forge (ForgeStore); the
    timeouts are Database's."""

    def __init__(self, database_url: str, *, secret_key: str = "", forges: tuple[ForgeConfig, ...] = (),
                 complete_forge: Complete = ForgeConfig, connect_timeout: int | None = None,
                 statement_timeout: int | None = None):
        self.db = Database(database_url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
        sealer = Sealer(secret_key)
        self.repos = RepoStore(self.db, sealer)
        self.notifications = NotificationStore(self.db)
        self.jobs = JobStore(self.db, self.repos, self.notifications)
        self.tokens = TokenStore(self.db)
        self.deliveries = DeliveryStore(self.db, self.jobs)
        self.refused = RefusedDeliveryStore(self.db)
        self.rules = RuleStore(self.db)
        self.forges = ForgeStore(self.db, sealer, forges, complete_forge)
        self.backups = BackupStore(self.db)

    def ping(self) -> None:
        """Raises unless the database answers."""
        with self.db.read() as conn:
            conn.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        from service.store.migrate import upgrade

        upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()
