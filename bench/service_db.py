"""Reads one repo's jobs and the webhook deliveries straight from the service's database."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from service.store.db import Database
from service.store.tables import deliveries, jobs

DEBOUNCE_GAP = 0.7  # > service.web.hooks.DEBOUNCE_SECONDS (0.5)


class Rows:
    """The service's jobs and deliveries tables, for the jobs of `repo`."""

    def __init__(self, url: str, repo: str):
        self.db = Database(url)
        self.repo = repo

    def job(self, job_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            return dict(row) if row else None

    def wait_done(self, job_id: int, timeout: float = 30, interval: float = 0.003) -> tuple[float, dict[str, Any]]:
        """perf_counter() when the row was first seen finished, and the row."""
        deadline = time.perf_counter() + timeout
        while True:
            with self.db.read() as conn:  # the state alone, to keep each poll cheap
                state = conn.execute(select(jobs.c.state).where(jobs.c.id == job_id)).scalar()
            if state in ("done", "failed"):
                seen = time.perf_counter()
                row = self.job(job_id)
                assert row is not None
                return seen, row
            if time.perf_counter() > deadline:
                raise TimeoutError(f"job {job_id} still {state} after {timeout} s")
            time.sleep(interval)

    def max_job_id(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(jobs.c.id))).scalar() or 0)

    def idle(self) -> bool:
        with self.db.read() as conn:
            return not conn.execute(select(func.count()).select_from(jobs).where(
                jobs.c.repo == self.repo, jobs.c.state.in_(("queued", "running")))).scalar()

    def last_finished(self) -> datetime | None:
        with self.db.read() as conn:
            return conn.execute(select(func.max(jobs.c.finished_at)).where(jobs.c.repo == self.repo)).scalar()

    def deliveries(self, ids: list[str]) -> dict[str, list[int]]:
        """Delivery id -> its job ids, for those of `ids` recorded (GitHub deliveries)."""
        out: dict[str, list[int]] = {}
        with self.db.read() as conn:
            for k in range(0, len(ids), 200):  # keeps the IN list of each query short
                for row in conn.execute(select(deliveries.c.delivery_id, deliveries.c.job_ids).where(
                        deliveries.c.forge == "github", deliveries.c.delivery_id.in_(ids[k : k + 200]))):
                    out[row.delivery_id] = list(row.job_ids or [])
        return out

    def quiet(self, gap: float = DEBOUNCE_GAP, timeout: float = 60) -> None:
        """Wait until no job of the repo is queued or running and the last ended `gap` s ago."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                last = self.last_finished()
                since = (datetime.now(UTC) - last).total_seconds() if last else gap
                if since >= gap:
                    return
                time.sleep(gap - since + 0.01)
            else:
                time.sleep(0.05)
        raise TimeoutError("the repo's jobs did not settle")

    def close(self) -> None:
        self.db.dispose()
