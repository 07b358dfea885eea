"""State: SQLAlchemy tables, Alembic migrations and one store per kind of record.

Only this package touches the database: it returns typed records (service.domain.records), and
its callers never open a transaction of their own.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.domain.forge import ForgeConfig
from service.store.db import Database
from service.store.deliveries import DeliveryStore, Intake
from service.store.forges import Complete, ForgeStore, SecretKeyMissing
from service.store.jobs import JobStore
from service.store.notifications import NotificationStore
from service.store.repos import NameTaken, RepoStore
from service.store.rules import RuleStore
from service.store.tokens import TokenStore

__all__ = ["Database", "DatabaseUnavailable", "Intake", "NameTaken", "SecretKeyMissing", "Store"]
# What a store call raises when the database cannot be reached (or went away mid-call).
DatabaseUnavailable = OperationalError


class Store:
    """Every store over one database. `secret_key` opens stored forge secrets; `forges` are the
    configured ones (GITFERRY_CONFIG); `complete_forge` makes a stored forge (ForgeStore); the
    timeouts are Database's."""

    def __init__(self, database_url: str, *, secret_key: str = "", forges: tuple[ForgeConfig, ...] = (),
                 complete_forge: Complete = ForgeConfig, connect_timeout: int | None = None,
                 statement_timeout: int | None = None):
        self.db = Database(database_url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
        self.repos = RepoStore(self.db)
        self.notifications = NotificationStore(self.db)
        self.jobs = JobStore(self.db, self.repos, self.notifications)
        self.tokens = TokenStore(self.db)
        self.deliveries = DeliveryStore(self.db, self.jobs)
        self.rules = RuleStore(self.db)
        self.forges = ForgeStore(self.db, secret_key, forges, complete_forge)

    def ping(self) -> None:
        """Raises unless the database answers."""
        with self.db.read() as conn:
            conn.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        from service.store.migrate import upgrade

        upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()
