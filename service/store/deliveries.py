"""Webhook deliveries: each recorded once per forge and delivery id, with the fetch jobs it made.

What recording a delivery does, defined once (DeliveryStore.record's docstring) and run two ways:
statement by statement (_record_one: SQLite, and a delivery the batch could not settle), and on
PostgreSQL for every delivery that arrived together in one statement (_RECORD_TOGETHER), which
takes its new jobs' columns, their conflict clause and the coalescing key from the definitions
the first uses.
tests/store/test_deliveries_agree.py runs both on the same deliveries and compares.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from service.domain.records import Delivery
from service.domain.types import JobKind, JobState, Trigger, fetch_coalesce_key, fetch_key_parts, utcnow
from service.store.db import Database
from service.store.group_commit import Batcher, Slot
from service.store.jobs import JOINS_QUEUED_TWIN, NEW_JOB_COLUMNS, JobStore
from service.store.sql import Sql, records
from service.store.tables import deliveries
from service.store.timeouts import unanswered

log = logging.getLogger("gitferry.deliveries")
ToSend = tuple[int, int, float | None]  # (job, repo, countdown)
UNMATCHED = "the repository is not a remote of any managed repo"


@dataclass
class Intake:
    """What recording a delivery did: its jobs (joined or new), or why it was ignored; the new
    jobs are to be sent, each with its countdown."""

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
        answer and makes nothing. A new fetch whose twin is running or ended since `debounce`
        seconds ago is sent with `debounce` seconds of countdown.
        """
        delivery = _Delivery(forge, delivery_id, event, sorted(keys) if ignored is None else [], ignored,
                             utcnow() - timedelta(seconds=debounce), debounce)
        if self._together is not None and not self.db.in_write:
            return self._settle(delivery, self._together.run(delivery))
        return self._alone(delivery)

    def recent(self, limit: int = 50, forge: str | None = None) -> list[Delivery]:
        """The latest recorded webhook deliveries, newest first; of one forge kind if `forge`."""
        query = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        if forge:
            query = query.where(deliveries.c.forge == forge)
        with self.db.read() as conn:
            return records(Delivery, conn.execute(query))

    def _alone(self, delivery: _Delivery) -> Intake:
        return self.db.write_batched(lambda conn: self._record_one(conn, delivery))

    def _settle(self, delivery: _Delivery, settled: Settled) -> Intake:
        """The delivery's Intake from its batch, or recorded alone if the batch could not settle it."""
        intake, added = settled
        if intake is not None:
            return intake
        intake = self._alone(delivery)
        # Jobs the batch added are queued and must go out, whatever recording alone found.
        intake.to_send += [job for job in added if job[0] not in {sent[0] for sent in intake.to_send}]
        return intake

    def _record_one(self, conn: Connection, d: _Delivery) -> Intake:
        intake = Intake(ignored=d.ignored)
        if d.ignored is None:
            matches = _matching(len(d.keys)).run(conn, **{f"k{i}": k for i, k in enumerate(d.keys)}).fetchall() \
                if d.keys else []
            for repo_id, repo_name, remote in matches:
                key = fetch_coalesce_key(repo_id, remote)
                job_id, new = self.jobs.join_or_add(conn, repo_id, repo_name, JobKind.FETCH, Trigger.WEBHOOK,
                                                    {"remote": remote, "prune": True}, key)
                intake.job_ids.append(job_id)
                if new:
                    busy = d.debounce and _busy_since(conn, key, d.since)
                    intake.to_send.append((job_id, repo_id, d.debounce if busy else None))
            if not matches:
                intake.ignored = UNMATCHED
        recorded = _RECORD.run(conn, forge=d.forge, delivery_id=d.delivery_id, event=d.event,
                               job_ids=intake.job_ids, ignored=intake.ignored, now=utcnow()).fetchone()
        if recorded is not None:
            return intake
        # Seen before: undo the jobs this added (none was sent yet) and give the first answer.
        for job_id, _repo, _wait in intake.to_send:
            _DROP_JOB.run(conn, id=job_id)
        job_ids, first_ignored = _ANSWERED.run(conn, forge=d.forge, delivery_id=d.delivery_id).fetchone()
        return Intake(job_ids=list(json.loads(job_ids) if isinstance(job_ids, str) else job_ids),
                      ignored=first_ignored or "delivery seen before", seen_before=True)

    def _record_together(self, batch: list[Slot[_Delivery, Settled]]) -> None:
        """Deliveries that arrived together, recorded by one PostgreSQL statement: one round trip
        and one commit for the lot. Under a stream of webhooks, a statement and a commit per
        delivery had been most of the work of both the web and the database.

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
        head, between = fetch_key_parts()
        try:
            with self.db.write_batch() as conn:
                answered = _RECORD_TOGETHER.later(
                    conn, batch=rows, unmatched=UNMATCHED, kind=JobKind.FETCH.value, trigger=Trigger.WEBHOOK.value,
                    key_head=head, key_between=between, now=utcnow())
            answers = answered()  # read once committed: the commit goes with the statement
        except Exception as exc:  # one statement: it recorded nothing, so each goes on its own...
            log.warning("delivery_batch_failed deliveries=%d error=%s", len(batch), type(exc).__name__)
            given_up = unanswered(exc)  # ... unless the database did not answer: alone, each would wait again
            for slot in batch:
                if given_up:
                    slot.fail(exc)
                else:
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


def _busy_since(conn: Connection, key: str, since: datetime) -> bool:
    """Whether the last started job with `key` is running or ended after `since`."""
    last = _LAST_STARTED.run(conn, key=key, since=since).fetchone()
    return last is not None and (last[0] == JobState.RUNNING or bool(last[1]))


# Statement by statement (service.store.sql says why hand-written).
_RECORD = Sql("""
    INSERT INTO deliveries (forge, delivery_id, event, job_ids, ignored, received_at)
    VALUES (:forge, :delivery_id, :event, :job_ids, :ignored, :now)
    ON CONFLICT (forge, delivery_id) DO NOTHING RETURNING id""")
_ANSWERED = Sql("SELECT job_ids, ignored FROM deliveries WHERE forge = :forge AND delivery_id = :delivery_id")
_DROP_JOB = Sql("DELETE FROM jobs WHERE id = :id")
_LAST_STARTED = Sql("""
    SELECT state, finished_at > :since FROM jobs WHERE coalesce_key = :key AND state != 'queued'
    ORDER BY id DESC LIMIT 1""")


@lru_cache(maxsize=16)
def _matching(count: int) -> Sql[Any]:
    """Every managed remote whose URL has one of `count` match keys (:k0, :k1, ...), with its repo."""
    wanted = ", ".join(f":k{i}" for i in range(count))
    return Sql(f"""
        SELECT repos.id, repos.name, remotes.name FROM repos JOIN remotes ON remotes.repo_id = repos.id
        WHERE remotes.match_key IN ({wanted}) ORDER BY repos.name, remotes.name""")


# All at once (PostgreSQL: it writes in WITH), for a batch given as JSON rows (n, forge,
# delivery_id, event, ignored, keys, since). Each step is the one of _record_one named beside it.
# d: the deliveries, and whether each was recorded before (_RECORD's conflict); m: each one's
# matching remotes (_matching) with the fetch's key (fetch_coalesce_key, from the same parts);
# twin: the queued fetches to join, added: a new fetch for each other key a delivery not seen
# before wants (join_or_add, with its columns and conflict clause); got: each delivery's job per
# remote, whether it added it (the first delivery in the batch with that key), and whether the
# key's last started fetch is running or ended since the delivery's `since` (_busy_since); rec:
# each delivery whose every remote got a job, recorded (_RECORD, ignored as _record_one sets it).
# Gives (n, recorded, [[job id, repo id, new, busy], ...] in repo and remote order) per delivery.
_RECORD_TOGETHER = Sql(f"""
    WITH d AS (
        SELECT r.*, (SELECT true FROM deliveries WHERE forge = r.forge AND delivery_id = r.delivery_id LIMIT 1)
                    IS NOT NULL AS seen
        FROM json_to_recordset(CAST(:batch AS json))
            AS r(n int, forge text, delivery_id text, event text, ignored text, keys text[], since timestamp)),
    m AS (
        SELECT d.n, d.seen, r.repo_id, r.repo, r.remote,
               CAST(:key_head AS text) || r.repo_id || CAST(:key_between AS text) || r.remote AS key
        FROM d CROSS JOIN LATERAL (
            SELECT repos.id AS repo_id, repos.name AS repo, remotes.name AS remote
            FROM remotes JOIN repos ON repos.id = remotes.repo_id WHERE remotes.match_key = ANY(d.keys)) AS r),
    wanted AS (SELECT DISTINCT ON (key) key, n, repo_id, repo, remote FROM m WHERE NOT seen ORDER BY key, n),
    twin AS (SELECT coalesce_key AS key, id FROM jobs
             WHERE coalesce_key IN (SELECT key FROM wanted) AND state = 'queued'),
    added AS (
        INSERT INTO jobs ({NEW_JOB_COLUMNS})
        SELECT repo_id, repo, :kind, 'queued', :trigger, json_build_object('remote', remote, 'prune', true),
               key, 0, :now, NULL
        FROM wanted WHERE key NOT IN (SELECT key FROM twin)
        {JOINS_QUEUED_TWIN}
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
