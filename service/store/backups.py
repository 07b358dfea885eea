"""Backups workers kept in clones: recorded as they are made, listed and marked deleted by the
API, and kept in step with the clone's refs (retention, deletions) by the worker holding it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from service.domain.records import Backup, BackupKept
from service.domain.types import utcnow
from service.store.db import Database
from service.store.sql import records
from service.store.tables import backups


class BackupStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, repo_id: int, kept: list[BackupKept]) -> None:
        """Record backups a job made (a ref already recorded is left as it is)."""
        if not kept:
            return
        with self.db.write() as conn:
            known = set(conn.execute(select(backups.c.ref).where(backups.c.repo_id == repo_id)).scalars())
            rows = [{"repo_id": repo_id, **asdict(k)} for k in kept if k.ref not in known]
            if rows:
                conn.execute(insert(backups), rows)

    def of_repo(self, repo_id: int, kept_since: datetime) -> list[Backup]:
        """A repo's backups, newest first: neither deleted nor older than `kept_since`."""
        query = select(backups).where(backups.c.repo_id == repo_id, backups.c.deleted_at.is_(None),
                                      backups.c.created_at >= kept_since)
        with self.db.read() as conn:
            return records(Backup, conn.execute(query.order_by(backups.c.created_at.desc(), backups.c.id.desc())))

    def get(self, repo_id: int, backup_id: int, kept_since: datetime) -> Backup | None:
        return next((b for b in self.of_repo(repo_id, kept_since) if b.id == backup_id), None)

    def delete(self, repo_id: int, backup_id: int) -> bool:
        """Mark a backup deleted (its ref goes the next time a worker holds the clone)."""
        with self.db.write() as conn:
            marked = conn.execute(update(backups).where(
                backups.c.repo_id == repo_id, backups.c.id == backup_id, backups.c.deleted_at.is_(None),
            ).values(deleted_at=utcnow()))
            return bool(marked.rowcount)

    def in_step(self, repo_id: int, found: list[BackupKept], kept_since: datetime) -> list[str]:
        """Bring the records in step with the backup refs `found` in the clone: refs not recorded
        yet are recorded, records of refs gone are dropped. The refs to delete: marked deleted,
        or older than `kept_since`."""
        in_clone = {k.ref: k for k in found}
        with self.db.read() as conn:
            rows = records(Backup, conn.execute(select(backups).where(backups.c.repo_id == repo_id)))
        recorded = {b.ref for b in rows}
        new = [k for k in found if k.ref not in recorded]
        gone = [b.id for b in rows if b.ref not in in_clone]
        if new or gone:
            with self.db.write() as conn:
                if gone:
                    conn.execute(delete(backups).where(backups.c.repo_id == repo_id, backups.c.id.in_(gone)))
                if new:
                    conn.execute(insert(backups), [{"repo_id": repo_id, **asdict(k)} for k in new])
        doomed = {b.ref for b in rows if b.ref in in_clone and (b.deleted_at is not None or b.created_at < kept_since)}
        return sorted(doomed | {k.ref for k in new if k.created_at < kept_since})

    def forget(self, repo_id: int, refs: list[str]) -> None:
        """Drop the records of backup refs a worker deleted."""
        if refs:
            with self.db.write() as conn:
                conn.execute(delete(backups).where(backups.c.repo_id == repo_id, backups.c.ref.in_(refs)))
