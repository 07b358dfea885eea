"""Webhook deliveries: each recorded once per forge and delivery id, with the jobs it made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.types import JobKind, Trigger, fetch_coalesce_key
from service.store.db import Database
from service.store.jobs import JobStore
from service.store.tables import deliveries, remotes, repos, utcnow

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
        """In one transaction: record the delivery and queue (or join) a fetch of each remote whose
        URL has one of `keys`; a delivery seen before gets the first one's answer and makes nothing.

        A new fetch whose twin is running or just ran gets `debounce` seconds of countdown.
        """
        try:
            with self.db.tx(write=True) as conn:
                delivery = conn.execute(insert(deliveries).values(
                    forge=forge, delivery_id=delivery_id, event=event, job_ids=[], received_at=utcnow())
                ).inserted_primary_key[0]  # type: ignore[index]
                intake = Intake(ignored=ignored)
                if ignored is None:
                    self._fetch_matching(conn, keys, debounce, intake)
                conn.execute(update(deliveries).where(deliveries.c.id == delivery)
                             .values(job_ids=intake.job_ids, ignored=intake.ignored))
                return intake
        except IntegrityError:
            with self.db.tx() as conn:
                row = conn.execute(select(deliveries.c.job_ids, deliveries.c.ignored).where(
                    deliveries.c.forge == forge, deliveries.c.delivery_id == delivery_id)).one()
            return Intake(job_ids=list(row.job_ids), ignored=row.ignored or "delivery seen before",
                          seen_before=True)

    def _fetch_matching(self, conn: Any, keys: set[str], debounce: float, intake: Intake) -> None:
        matches = conn.execute(
            select(repos.c.id, repos.c.name, remotes.c.name.label("remote"))
            .join(remotes, remotes.c.repo_id == repos.c.id)
            .where(remotes.c.match_key.in_(sorted(keys)))
            .order_by(repos.c.name, remotes.c.name)
        ).mappings().all() if keys else []
        for match in matches:
            repo = {"id": match["id"], "name": match["name"]}
            key = fetch_coalesce_key(repo["id"], match["remote"])
            job_id, new = self.jobs.join_or_add(conn, repo, JobKind.FETCH, Trigger.WEBHOOK,
                                                {"remote": match["remote"], "prune": True}, key)
            intake.job_ids.append(job_id)
            if new:
                wait = debounce if debounce and self.jobs.busy_recently(conn, key, debounce) else None
                intake.to_send.append((job_id, repo["id"], wait))
        if not matches:
            intake.ignored = "the repository is not a remote of any managed repo"
