"""Notifications of finished jobs: one row per job sent to a repo's notify_url, and how it went."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from service.domain.records import Notification
from service.domain.types import utcnow
from service.store.db import Database
from service.store.sql import ENDED_HERE, Ending, Sql, records
from service.store.tables import notifications

# Hand-written: it goes out in the one round trip of a job's end, if that end was recorded.
_ADD = Sql(f"""
    INSERT INTO notifications (job_id, url, state, attempts, created_at) SELECT :job_id, :url, 'pending', 0, :now
    WHERE {ENDED_HERE} RETURNING id""")


class NotificationStore:
    def __init__(self, db: Database):
        self.db = db

    def add_later(self, ending: Ending, url: str) -> Callable[[], int | None]:
        """Inside the write of a job's end: record a pending notification if that end ended the
        job (sql.ENDED_HERE); its id when called, or None."""
        with self.db.write() as conn:
            added = _ADD.later(conn, url=url, now=utcnow(), **ending.params())

        def read() -> int | None:
            found = added()
            return int(found[0][0]) if found else None

        return read

    def get(self, notification_id: int) -> Notification | None:
        with self.db.read() as conn:
            query = select(notifications).where(notifications.c.id == notification_id)
            return next(iter(records(Notification, conn.execute(query))), None)

    def for_job(self, job_id: int) -> list[Notification]:
        with self.db.read() as conn:
            query = select(notifications).where(notifications.c.job_id == job_id).order_by(notifications.c.id)
            return records(Notification, conn.execute(query))

    def recent(self, limit: int = 50) -> list[Notification]:
        """The latest notifications, newest first (the dashboard's list of deliveries and failures)."""
        with self.db.read() as conn:
            query = select(notifications).order_by(notifications.c.id.desc()).limit(limit)
            return records(Notification, conn.execute(query))

    def attempted(self, notification_id: int, state: str, status: int | None, error: str | None) -> None:
        """Record one delivery attempt; `state` is pending (will retry), delivered or failed."""
        with self.db.write() as conn:
            conn.execute(update(notifications).where(notifications.c.id == notification_id).values(
                state=state, attempts=notifications.c.attempts + 1, last_status=status, last_error=error,
                finished_at=None if state == "pending" else utcnow()))
