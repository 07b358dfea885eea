"""Webhook deliveries: each recorded once per forge and delivery id, with the jobs it made."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from service.domain.types import JobKind, Trigger, fetch_coalesce_key
from service.store.db import Database
from service.store.jobs import JobStore
from service.store.sql import Sql
from service.store.tables import utcnow

Row = dict[str, Any]


@dataclass
class Intake:
    """What recording a delivery did: its jobs (joined or new), or why it was ignored."""

    job_ids: list[int] = field(default_factory=list)
    ignored: str | None = None
    seen_before: bool = False
    to_send: list[tuple[int, int, float | None]] = field(default_factory=list)  # (job, repo, countdown)


class DeliveryStore:
    def __init__(self, db: Database, jobs: JobStore):
        self.db = db
        self.jobs = jobs

    def record(self, forge: str, delivery_id: str, event: str, keys: set[str], ignored: str | None,
               debounce: float = 0.0) -> Intake:
        """In one transaction: queue (or join) a fetch of each remote whose URL has one of `keys`
        and record the delivery with those jobs; a delivery seen before gets the first one's
        answer and makes nothing.

        A new fetch whose twin is running or just ran gets `debounce` seconds of countdown.
        Deliveries arriving together share a transaction (Database.write_batched).
        """
        def work(conn: Any) -> Intake:
            intake = Intake(ignored=ignored)
            if ignored is None:
                self._fetch_matching(conn, sorted(keys), debounce, intake)
            recorded = _RECORD.run(conn, forge=forge, delivery_id=delivery_id, event=event,
                                   job_ids=intake.job_ids, ignored=intake.ignored, now=utcnow()).fetchone()
            if recorded is not None:
                return intake
            # Seen before: undo the jobs this added (none was sent yet) and give the first answer.
            for job_id, _repo, _wait in intake.to_send:
                _DROP_JOB.run(conn, id=job_id)
            job_ids, first_ignored = _ANSWERED.run(conn, forge=forge, delivery_id=delivery_id).fetchone()
            return Intake(job_ids=list(json.loads(job_ids) if isinstance(job_ids, str) else job_ids),
                          ignored=first_ignored or "delivery seen before", seen_before=True)

        return self.db.write_batched(work)

    def _fetch_matching(self, conn: Any, keys: list[str], debounce: float, intake: Intake) -> None:
        matches = _matching(len(keys)).run(conn, **{f"k{i}": key for i, key in enumerate(keys)}).fetchall() \
            if keys else []
        for repo_id, repo_name, remote in matches:
            key = fetch_coalesce_key(repo_id, remote)
            job_id, new = self.jobs.join_or_add(conn, {"id": repo_id, "name": repo_name}, JobKind.FETCH,
                                                Trigger.WEBHOOK, {"remote": remote, "prune": True}, key)
            intake.job_ids.append(job_id)
            if new:
                wait = debounce if debounce and self.jobs.busy_recently(conn, key, debounce) else None
                intake.to_send.append((job_id, repo_id, wait))
        if not matches:
            intake.ignored = "the repository is not a remote of any managed repo"


# What every delivery runs, hand-written (service.store.sql says why).
_RECORD = Sql("""
    INSERT INTO deliveries (forge, delivery_id, event, job_ids, ignored, received_at)
    VALUES (:forge, :delivery_id, :event, :job_ids, :ignored, :now)
    ON CONFLICT (forge, delivery_id) DO NOTHING RETURNING id""")
_ANSWERED = Sql("SELECT job_ids, ignored FROM deliveries WHERE forge = :forge AND delivery_id = :delivery_id")
_DROP_JOB = Sql("DELETE FROM jobs WHERE id = :id")


@lru_cache(maxsize=16)
def _matching(count: int) -> Sql:
    """Every managed remote whose URL has one of `count` match keys, with its repo."""
    wanted = ", ".join(f":k{i}" for i in range(count))
    return Sql(f"""
        SELECT repos.id, repos.name, remotes.name FROM repos JOIN remotes ON remotes.repo_id = repos.id
        WHERE remotes.match_key IN ({wanted}) ORDER BY repos.name, remotes.name""")
