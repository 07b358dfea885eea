"""Webhook deliveries: each recorded once per forge and delivery id, with the jobs it made."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from service.domain.types import JobKind, Trigger, fetch_coalesce_key
from service.store.db import Batcher, Database, Slot
from service.store.jobs import JobStore
from service.store.sql import Sql
from service.store.tables import utcnow

log = logging.getLogger("gitferry.deliveries")
Row = dict[str, Any]
ToSend = tuple[int, int, float | None]  # (job, repo, countdown)
UNMATCHED = "the repository is not a remote of any managed repo"


@dataclass
class Intake:
    """What recording a delivery did: its jobs (joined or new), or why it was ignored."""

    job_ids: list[int] = field(default_factory=list)
    ignored: str | None = None
    seen_before: bool = False
    to_send: list[ToSend] = field(default_factory=list)


class _Delivery(NamedTuple):
    forge: str
    delivery_id: str
    event: str
    keys: list[str]
    ignored: str | None
    since: datetime  # a fetch ended after this makes a new one wait `debounce` seconds
    debounce: float


Settled = tuple[Intake | None, list[ToSend]]  # (what recording it did, else the jobs added to send)


class DeliveryStore:
    def __init__(self, db: Database, jobs: JobStore):
        self.db = db
        self.jobs = jobs
        # On PostgreSQL, deliveries arriving together are recorded by one statement.
        self._together = None if db.sqlite else Batcher(self._record_together)

    def record(self, forge: str, delivery_id: str, event: str, keys: set[str], ignored: str | None,
               debounce: float = 0.0) -> Intake:
        """Queue (or join) a fetch of each remote whose URL has one of `keys` and record the
        delivery with those jobs, all or nothing; a delivery seen before gets the first one's
        answer and makes nothing.

        A new fetch whose twin is running or just ran gets `debounce` seconds of countdown.
        Deliveries arriving together are recorded together: on PostgreSQL by one statement
        (_record_together), on SQLite in one transaction (Database.write_batched).
        """
        wanted = sorted(keys) if ignored is None else []
        added: list[ToSend] = []
        if self._together is not None and not self.db.in_tx:
            intake, added = self._together.run(
                _Delivery(forge, delivery_id, event, wanted, ignored, utcnow() - timedelta(seconds=debounce), debounce))
            if intake is not None:
                return intake

        def work(conn: Any) -> Intake:
            intake = Intake(ignored=ignored)
            if ignored is None:
                self._fetch_matching(conn, wanted, debounce, intake)
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

        intake = self.db.write_batched(work)
        # Jobs a first attempt added are queued and must go out, whatever the second one found.
        intake.to_send += [job for job in added if job[0] not in {sent[0] for sent in intake.to_send}]
        return intake

    def _record_together(self, batch: list[Slot[_Delivery, Settled]]) -> None:
        """Deliveries that arrived together, recorded by one PostgreSQL statement (_TOGETHER)
        that commits as it runs: one round trip and one commit for the lot. Under a stream of
        webhooks, a statement and a commit per delivery had been most of the work of both the
        web and the database.

        A delivery the statement cannot settle gets no Intake, and record() goes on with it alone:
        seen before (or twice in the batch), or a job it meant to add was added by another
        request in the meantime. It then recorded nothing but the jobs it added, which are given
        back to be sent. If the statement fails, no delivery of the batch is settled.
        """
        first: dict[tuple[str, str], int] = {}
        rows = []
        for n, slot in enumerate(batch):
            d = slot.item
            if first.setdefault((d.forge, d.delivery_id), n) != n:
                slot.set((None, []))  # the same delivery twice: the second finds the first recorded
                continue
            rows.append({"n": n, "forge": d.forge, "delivery_id": d.delivery_id, "event": d.event,
                         "ignored": d.ignored, "keys": d.keys,
                         "since": d.since.astimezone(UTC).replace(tzinfo=None).isoformat()})
        try:
            with self.db.autocommit(serial=True) as conn:  # one batch at a time
                answers = _TOGETHER.run(conn, batch=rows, unmatched=UNMATCHED, kind=JobKind.FETCH.value,
                                        trigger=Trigger.WEBHOOK.value, now=utcnow()).fetchall()
        except Exception as exc:  # one statement: it recorded nothing, so each goes on its own
            log.warning("delivery_batch_failed deliveries=%d error=%s", len(batch), type(exc).__name__)
            for slot in batch:
                slot.set((None, []))
            return
        for n, recorded, matched in answers:
            d = batch[n].item
            added = [(job_id, repo_id, d.debounce if d.debounce and busy else None)
                     for job_id, repo_id, new, busy in matched or [] if new]
            if not recorded:
                batch[n].set((None, added))
                continue
            why = d.ignored if d.ignored is not None or matched else UNMATCHED
            batch[n].set((Intake(job_ids=[m[0] for m in matched or []], ignored=why, to_send=added), []))

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
            intake.ignored = UNMATCHED


# What every delivery runs, hand-written (service.store.sql says why).
_RECORD = Sql("""
    INSERT INTO deliveries (forge, delivery_id, event, job_ids, ignored, received_at)
    VALUES (:forge, :delivery_id, :event, :job_ids, :ignored, :now)
    ON CONFLICT (forge, delivery_id) DO NOTHING RETURNING id""")
_ANSWERED = Sql("SELECT job_ids, ignored FROM deliveries WHERE forge = :forge AND delivery_id = :delivery_id")
_DROP_JOB = Sql("DELETE FROM jobs WHERE id = :id")


@lru_cache(maxsize=16)
def _matching(count: int) -> Sql:
    """Every managed remote whose URL has one of `count` match keys (:k0, :k1, ...), with its repo."""
    wanted = ", ".join(f":k{i}" for i in range(count))
    return Sql(f"""
        SELECT repos.id, repos.name, remotes.name FROM repos JOIN remotes ON remotes.repo_id = repos.id
        WHERE remotes.match_key IN ({wanted}) ORDER BY repos.name, remotes.name""")


# DeliveryStore._record_together's statement (PostgreSQL: it writes in WITH), for a batch given
# as JSON rows (n, forge, delivery_id, event, ignored, keys, since).
# d: the deliveries, and whether each was recorded before; m: each one's matching remotes, with
# the fetch's coalesce key; twin: the queued fetches to join; added: a new fetch for each other key a
# delivery not seen before wants (ON CONFLICT: another request just added one); got: each
# delivery's job per remote, whether it is the one that added it (the first delivery in the
# batch with that key), and whether the key's last fetch is running or ended since the
# delivery's `since` (the debounce); rec: each delivery whose every remote got a job, recorded.
# Gives (n, recorded, [[job id, repo id, new, busy], ...] in repo and remote order) per delivery.
_TOGETHER = Sql("""
    WITH d AS (
        SELECT r.*, (SELECT true FROM deliveries WHERE forge = r.forge AND delivery_id = r.delivery_id LIMIT 1)
                    IS NOT NULL AS seen
        FROM json_to_recordset(CAST(:batch AS json))
            AS r(n int, forge text, delivery_id text, event text, ignored text, keys text[], since timestamp)),
    m AS (
        SELECT d.n, d.seen, r.repo_id, r.repo, r.remote, 'fetch:' || r.repo_id || ':' || r.remote AS key
        FROM d CROSS JOIN LATERAL (
            SELECT repos.id AS repo_id, repos.name AS repo, remotes.name AS remote
            FROM remotes JOIN repos ON repos.id = remotes.repo_id WHERE remotes.match_key = ANY(d.keys)) AS r),
    wanted AS (SELECT DISTINCT ON (key) key, n, repo_id, repo, remote FROM m WHERE NOT seen ORDER BY key, n),
    twin AS (SELECT coalesce_key AS key, id FROM jobs
             WHERE coalesce_key IN (SELECT key FROM wanted) AND state = 'queued'),
    added AS (
        INSERT INTO jobs (repo_id, repo, kind, state, "trigger", params, coalesce_key, attempts, created_at)
        SELECT repo_id, repo, :kind, 'queued', :trigger, json_build_object('remote', remote, 'prune', true),
               key, 0, :now
        FROM wanted WHERE key NOT IN (SELECT key FROM twin)
        ON CONFLICT (coalesce_key) WHERE state = 'queued' AND coalesce_key IS NOT NULL DO NOTHING
        RETURNING id, coalesce_key AS key),
    got AS (
        SELECT m.n, m.repo, m.remote, m.repo_id, coalesce(twin.id, added.id) AS id,
               added.id IS NOT NULL AND wanted.n = m.n AS new,
               coalesce((SELECT last.state = 'running' OR last.finished_at > d.since FROM jobs AS last
                         WHERE last.coalesce_key = m.key AND last.state != 'queued'
                         ORDER BY last.id DESC LIMIT 1), false) AS busy
        FROM m JOIN d ON d.n = m.n LEFT JOIN wanted ON wanted.key = m.key
            LEFT JOIN twin ON twin.key = m.key LEFT JOIN added ON added.key = m.key),
    rec AS (
        INSERT INTO deliveries (forge, delivery_id, event, job_ids, ignored, received_at)
        SELECT d.forge, d.delivery_id, d.event,
               coalesce((SELECT json_agg(id ORDER BY repo, remote) FROM got WHERE got.n = d.n), '[]'),
               CASE WHEN NOT EXISTS (SELECT 1 FROM got WHERE got.n = d.n)
                    THEN coalesce(d.ignored, :unmatched) END,
               :now
        FROM d WHERE NOT d.seen
            AND NOT EXISTS (SELECT 1 FROM got WHERE got.n = d.n AND got.id IS NULL)
        ON CONFLICT (forge, delivery_id) DO NOTHING
        RETURNING forge, delivery_id)
    SELECT d.n, EXISTS (SELECT 1 FROM rec WHERE rec.forge = d.forge AND rec.delivery_id = d.delivery_id),
           (SELECT json_agg(json_build_array(id, repo_id, new, busy) ORDER BY repo, remote)
            FROM got WHERE got.n = d.n)
    FROM d ORDER BY d.n""")
