"""State: SQLAlchemy tables, Alembic migrations and one store per kind of record."""

from __future__ import annotations

from service.store.db import Database
from service.store.deliveries import DeliveryStore
from service.store.jobs import JobStore
from service.store.notifications import NotificationStore
from service.store.repos import NameTaken, RepoStore
from service.store.rules import RuleStore
from service.store.tokens import TokenStore

__all__ = ["Store", "NameTaken", "Database"]


class Store:
    """Every store over one database."""

    def __init__(self, database_url: str):
        self.db = Database(database_url)
        self.repos = RepoStore(self.db)
        self.jobs = JobStore(self.db)
        self.tokens = TokenStore(self.db)
        self.deliveries = DeliveryStore(self.db, self.jobs)
        self.rules = RuleStore(self.db)
        self.notifications = NotificationStore(self.db)

    def upgrade(self) -> None:
        from service.store.migrate import upgrade

        upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()
