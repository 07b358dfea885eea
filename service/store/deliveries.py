"""Webhook deliveries: each recorded once per forge and delivery id, with the jobs it made."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from service.domain.types import JobKind, Trigger, fetch_coalesce_key
from service.store.db import Database
from service.store.jobs import JobStore
from service.store.sql import Sql
from service.store.tables import utcnow

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


class DeliveryStore:
    def __init__(self, db: Database, jobs: JobStore):
        self.db = db
        self.jobs = jobs

    def record(self, forge: str, delivery_id: str, event: str, keys: set[str], ignored: str | None,
               debounce: float = 0.0) -> Intake:
        """Queue (or join) a fetch of each remote whose URL has one of `keys` and record the
        delivery with those jobs, all or nothing; a delivery seen before gets the first one's
        answer and makes nothing.

        A new fetch whose twin is running or just ran gets `debounce` seconds of countdown.
        On PostgreSQL this is one statement (_at_once); on SQLite, deliveries arriving together
        share a transaction (Database.write_batched).
        """
        wanted = sorted(keys) if ignored is None else []
        added: list[ToSend] = []
        if not self.db.sqlite and not self.db.in_tx:
            intake, added = self.db.write_batched(
                lambda conn: self._record_at_once(conn, forge, delivery_id, event, wanted, ignored, debounce),
                one_statement=True)
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

    def _record_at_once(self, conn: Any, forge: str, delivery_id: str, event: str, keys: list[str],
                        ignored: str | None, debounce: float) -> tuple[Intake | None, list[ToSend]]:
        """The whole of record() as one PostgreSQL statement, committed as it runs: one round
        trip instead of five, which under a stream of webhooks was most of the database's work.

        Gives no Intake when it could not settle the delivery: seen before, or a job it meant to
        add was added by another request in the meantime. It then recorded nothing but the jobs
        it added, which are given back to be sent.
        """
        now = utcnow()
        recorded, matched = _at_once(len(keys)).run(
            conn, forge=forge, delivery_id=delivery_id, event=event, ignored=ignored, unmatched=UNMATCHED,
            kind=JobKind.FETCH.value, trigger=Trigger.WEBHOOK.value, now=now,
            since=now - timedelta(seconds=debounce), **_key_params(keys),
        ).fetchone()
        matched = matched or []
        added = [(job_id, repo_id, debounce if debounce and busy else None)
                 for job_id, repo_id, new, busy in matched if new]
        if not recorded:
            return None, added
        ignored = ignored if ignored is not None or matched else UNMATCHED
        return Intake(job_ids=[m[0] for m in matched], ignored=ignored, to_send=added), []

    def _fetch_matching(self, conn: Any, keys: list[str], debounce: float, intake: Intake) -> None:
        matches = _matching(len(keys)).run(conn, **_key_params(keys)).fetchall() \
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


def _key_list(count: int) -> str:
    """The parameters of a list of `count` match keys, for IN (...): _key_params fills them."""
    return ", ".join(f":k{i}" for i in range(count))


def _key_params(keys: list[str]) -> dict[str, str]:
    return {f"k{i}": key for i, key in enumerate(keys)}


@lru_cache(maxsize=16)
def _matching(count: int) -> Sql:
    """Every managed remote whose URL has one of `count` match keys, with its repo."""
    wanted = _key_list(count)
    return Sql(f"""
        SELECT repos.id, repos.name, remotes.name FROM repos JOIN remotes ON remotes.repo_id = repos.id
        WHERE remotes.match_key IN ({wanted}) ORDER BY repos.name, remotes.name""")


@lru_cache(maxsize=16)
def _at_once(count: int) -> Sql:
    """DeliveryStore._record_at_once's statement (PostgreSQL: it writes in WITH) for `count` keys.

    m: the matching remotes; twin: their queued fetches, to join; added: new fetches for the
    rest, unless the delivery was seen before (ON CONFLICT: another request just added one);
    got: each remote's job, new or joined, and whether its last fetch is running or ended
    since :since (the debounce); the delivery is recorded only if every remote got a job.
    Gives (recorded, [[job id, repo id, new, busy], ...] in repo and remote order).
    """
    wanted = _key_list(count) if count else "NULL"
    return Sql(f"""
        WITH m AS (
            SELECT repos.id AS repo_id, repos.name AS repo, remotes.name AS remote,
                   'fetch:' || repos.id || ':' || remotes.name AS key
            FROM repos JOIN remotes ON remotes.repo_id = repos.id WHERE remotes.match_key IN ({wanted})),
        twin AS (SELECT jobs.coalesce_key AS key, jobs.id FROM jobs JOIN m ON jobs.coalesce_key = m.key
                 WHERE jobs.state = 'queued'),
        added AS (
            INSERT INTO jobs (repo_id, repo, kind, state, "trigger", params, coalesce_key, attempts, created_at)
            SELECT repo_id, repo, :kind, 'queued', :trigger, json_build_object('remote', remote, 'prune', true),
                   key, 0, :now
            FROM m WHERE key NOT IN (SELECT key FROM twin)
                AND NOT EXISTS (SELECT 1 FROM deliveries WHERE forge = :forge AND delivery_id = :delivery_id)
            ON CONFLICT (coalesce_key) WHERE state = 'queued' AND coalesce_key IS NOT NULL DO NOTHING
            RETURNING id, coalesce_key AS key),
        got AS (
            SELECT m.repo, m.remote, m.repo_id, coalesce(twin.id, added.id) AS id, added.id IS NOT NULL AS new,
                   coalesce((SELECT last.state = 'running' OR last.finished_at > :since FROM jobs AS last
                             WHERE last.coalesce_key = m.key AND last.state != 'queued'
                             ORDER BY last.id DESC LIMIT 1), false) AS busy
            FROM m LEFT JOIN twin ON twin.key = m.key LEFT JOIN added ON added.key = m.key),
        rec AS (
            INSERT INTO deliveries (forge, delivery_id, event, job_ids, ignored, received_at)
            SELECT :forge, :delivery_id, :event, coalesce(json_agg(id ORDER BY repo, remote), '[]'),
                   CASE WHEN count(*) = 0 THEN coalesce(CAST(:ignored AS text), :unmatched) END, :now
            FROM got HAVING count(id) = count(*)
            ON CONFLICT (forge, delivery_id) DO NOTHING RETURNING id)
        SELECT EXISTS (SELECT 1 FROM rec),
               json_agg(json_build_array(id, repo_id, new, busy) ORDER BY repo, remote) FROM got""")
