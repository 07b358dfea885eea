"""Notifications of finished jobs: one row per job sent to a repo's notify_url, and how it went."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from service.store.db import Database
from service.store.sql import Sql
from service.store.tables import notifications, utcnow

Row = dict[str, Any]
_CREATE = Sql("""
    INSERT INTO notifications (job_id, url, state, attempts, created_at) VALUES (:job_id, :url, 'pending', 0, :now)
    RETURNING id""")


class NotificationStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, job_id: int, url: str) -> int:
        with self.db.writes() as conn:  # hand-written: it goes in the pipelined transaction of a job's end
            return int(_CREATE.run(conn, job_id=job_id, url=url, now=utcnow()).fetchone()[0])

    def get(self, notification_id: int) -> Row | None:
        with self.db.tx() as conn:
            row = conn.execute(select(notifications).where(notifications.c.id == notification_id)).mappings().first()
            return dict(row) if row else None

    def for_job(self, job_id: int) -> list[Row]:
        with self.db.tx() as conn:
            rows = conn.execute(select(notifications).where(notifications.c.job_id == job_id)
                                .order_by(notifications.c.id)).mappings()
            return [dict(r) for r in rows]

    def attempted(self, notification_id: int, state: str, status: int | None, error: str | None) -> None:
        """Record one delivery attempt; `state` is pending (will retry), delivered or failed."""
        with self.db.tx(write=True) as conn:
            conn.execute(update(notifications).where(notifications.c.id == notification_id).values(
                state=state, attempts=notifications.c.attempts + 1, last_status=status, last_error=error,
                finished_at=None if state == "pending" else utcnow()))
