"""Jobs: written before their message is sent, claimed with a lease, finished with an outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from service.domain.types import FETCH_KEY, JobKind, JobState
from service.store.db import Database
from service.store.repos import BY_NAME as REPO_BY_NAME
from service.store.sql import Sql, row_from_json
from service.store.tables import jobs, remotes, repos, rules, utcnow

Row = dict[str, Any]
Ended = Callable[[], Row | None]


def job_view(row: Row) -> dict[str, Any]:
    """The job object of the HTTP API."""
    error = None
    if row["error_code"]:
        error = {"code": row["error_code"], "message": row["error_message"] or ""}
    return {
        "id": row["id"],
        "repo": row["repo"],
        "kind": row["kind"],
        "state": row["state"],
        "trigger": row["trigger"],
        "params": row["params"],
        "result": row["result"],
        "error": error,
        "progress": row["progress"],
        "attempts": row["attempts"],
        "created_at": _iso(row["created_at"]),
        "started_at": _iso(row["started_at"]),
        "finished_at": _iso(row["finished_at"]),
    }


# The statements every webhook delivery runs (service.store.sql says why they are hand-written).
_QUEUED_TWIN = "SELECT {} FROM jobs WHERE coalesce_key = :key AND state = 'queued'"
_ADD_JOB = """
    INSERT INTO jobs (repo_id, repo, kind, state, "trigger", params, coalesce_key, attempts, created_at)
    VALUES (:repo_id, :repo, :kind, 'queued', :trigger, :params, :key, 0, :now)
    ON CONFLICT (coalesce_key) WHERE state = 'queued' AND coalesce_key IS NOT NULL DO NOTHING
    RETURNING {}"""
_TWIN_ID, _ADD_ID = Sql(_QUEUED_TWIN.format("id")), Sql(_ADD_JOB.format("id"))
# ...and every API call's job, and every job's claim and end.
_TWIN, _ADD = Sql(_QUEUED_TWIN.format("*")), Sql(_ADD_JOB.format("*"))
# ...and an API fetch's job, added in the round trip that reads its repo (JobStore.fetch_of).
_ADD_FETCH_OF = Sql("""
    INSERT INTO jobs (repo_id, repo, kind, state, "trigger", params, coalesce_key, attempts, created_at)
    SELECT id, name, :kind, 'queued', :trigger, :params,
        CAST(:key_head AS TEXT) || CAST(id AS TEXT) || CAST(:key_tail AS TEXT), 0, :now
    FROM repos WHERE name = :name
    ON CONFLICT (coalesce_key) WHERE state = 'queued' AND coalesce_key IS NOT NULL DO NOTHING
    RETURNING *""")
_GET = Sql("SELECT * FROM jobs WHERE id = :id")
_CLAIM = Sql("""
    UPDATE jobs SET state = 'running', lease_until = :lease_until, started_at = :now, attempts = attempts + 1
    WHERE id = :id AND (state = 'queued' OR (state = 'running' AND lease_until < :now))
    RETURNING *""")
# What running a job needs, read as it is claimed (JobStore.start). With the repo comes the
# version of the forges table (rows are only added and deleted), so that the worker reads the
# forges' credentials again only when they changed.
_REPO_OF = "SELECT {} FROM {} WHERE {} = (SELECT repo_id FROM jobs WHERE id = :id)"
_JOBS_REPO = Sql(_REPO_OF.format(
    "*, (SELECT count(*) || ':' || coalesce(max(id), 0) FROM forges) AS forges_version", "repos", "id"))
_JOBS_REMOTES = Sql(_REPO_OF.format("*", "remotes", "repo_id") + " ORDER BY name")
_JOBS_RULES = Sql(_REPO_OF.format("*", "rules", "repo_id") + " ORDER BY name")
_END = Sql("""
    UPDATE jobs SET state = :state, finished_at = :now, lease_until = NULL, result = :result,
        error_code = :error_code, error_message = :error_message, progress = COALESCE(:progress, progress)
    WHERE id = :id RETURNING *""")
_LAST_STARTED = Sql("""
    SELECT state, finished_at > :since FROM jobs WHERE coalesce_key = :key AND state != 'queued'
    ORDER BY id DESC LIMIT 1""")


def _claim_params(job_id: int, lease: float) -> dict[str, Any]:
    now = utcnow()
    return {"id": job_id, "now": now, "lease_until": now + timedelta(seconds=lease)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class JobStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, repo: Row, kind: str, trigger: str, params: dict[str, Any],
               coalesce_key: str | None = None) -> tuple[Row, bool]:
        """Record a queued job; with `coalesce_key`, join an identical queued job instead.

        Returns the job and whether it is new.
        """
        # The insert first, returning the row: a new job is one round trip. Each statement
        # stands alone (a twin is only read), so on PostgreSQL none needs a transaction.
        with self.db.writes() as conn:
            for _ in range(3):
                added = _ADD.row(conn, jobs, repo_id=repo["id"], repo=repo["name"], kind=kind, trigger=trigger,
                                 params=params, key=coalesce_key, now=utcnow())
                if added is not None:
                    return added, True
                twin = _TWIN.row(conn, jobs, key=coalesce_key)
                if twin is not None:
                    return twin, False
                # the twin was claimed in between: add again
        raise RuntimeError("could not record job")

    def fetch_of(self, name: str, trigger: str, params: dict[str, Any],
                 coalesce: bool) -> tuple[Row, Row, bool] | None:
        """create() a fetch of the repo named `name`, read in the same round trip: (repo, job,
        whether it is new), or None if there is no such repo. With `coalesce`, keyed as
        fetch_coalesce_key() keys a fetch of every remote."""
        key_head, _, key_tail = FETCH_KEY.partition("{repo_id}")  # the key is made around the repo's id
        key_tail = key_tail.format(remote="*")
        with self.db.together() as conn:
            repo = REPO_BY_NAME.later(conn, repos, name=name)
            added = _ADD_FETCH_OF.later(conn, jobs, name=name, kind=JobKind.FETCH.value, trigger=trigger,
                                        params=params, key_head=key_head if coalesce else None,
                                        key_tail=key_tail, now=utcnow())
        found, job = repo(), added()
        if not found:
            return None
        if job:
            return found[0], job[0], True
        key = key_head + str(found[0]["id"]) + key_tail  # a queued twin took the key: join it
        return found[0], *self.create(found[0], JobKind.FETCH, trigger, params, coalesce_key=key)

    def join_or_add(self, conn: Connection, repo: Row, kind: str, trigger: str, params: dict[str, Any],
                    coalesce_key: str | None) -> tuple[int, bool]:
        """Inside a write transaction: the id of the queued twin to join, or of a new job."""
        for _ in range(3):
            if coalesce_key:
                twin = _TWIN_ID.run(conn, key=coalesce_key).fetchone()
                if twin:
                    return twin[0], False
            added = _ADD_ID.run(conn, repo_id=repo["id"], repo=repo["name"], kind=kind, trigger=trigger,
                                 params=params, key=coalesce_key, now=utcnow()).fetchone()
            if added:
                return added[0], True
            # another request queued the same work a moment ago: join it
        raise RuntimeError("could not record job")

    def busy_recently(self, conn: Connection, key: str, window: float) -> bool:
        """True if the last job with `key` is running or ended less than `window` seconds ago."""
        row = _LAST_STARTED.run(conn, key=key, since=utcnow() - timedelta(seconds=window)).fetchone()
        return row is not None and (row[0] == JobState.RUNNING or bool(row[1]))

    def get(self, job_id: int) -> Row | None:
        with self.db.tx() as conn:
            return _GET.row(conn, jobs, id=job_id)

    def from_signal(self, carried: bytes) -> Row | None:
        """The job row a worker's end signal carried (JobSignals.ended); None if unreadable."""
        try:
            row = row_from_json(jobs, carried)
        except (ValueError, AttributeError):  # not JSON, or not an object
            return None
        return row if {"id", "state"} <= row.keys() else None

    def states(self, job_ids: list[int]) -> dict[int, str]:
        with self.db.tx() as conn:
            rows = conn.execute(select(jobs.c.id, jobs.c.state).where(jobs.c.id.in_(job_ids)))
            return {r.id: r.state for r in rows}

    def list(self, *, repo: str | None = None, state: str | None = None, kind: str | None = None,
             limit: int = 50) -> list[Row]:
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if repo is not None:
            query = query.where(jobs.c.repo == repo)
        if state is not None:
            query = query.where(jobs.c.state == state)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        with self.db.tx() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def mark_sent(self, job_id: int) -> None:
        with self.db.tx(write=True) as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(sent_at=utcnow()))

    def claim(self, job_id: int, lease: float) -> Row | None:
        """Take a queued job (or one whose worker's lease ran out) for running; None if taken."""
        with self.db.writes() as conn:
            return _CLAIM.row(conn, jobs, **_claim_params(job_id, lease))

    def start(self, job_id: int, lease: float) -> tuple[Row, Row | None] | None:
        """claim() the job (None if taken or ended) and read what running it needs: its repo
        (None if deleted) with the repo's "remotes" and "rules", and the "forges_version". On
        PostgreSQL the four statements go out together: one round trip instead of four."""
        with self.db.together() as conn:
            # A claim lost in a crash of the database is the job running again, as when a
            # worker dies: it need not wait for the disk (the job's end does, for both).
            with self.db.not_waiting_for_disk(conn):
                claimed = _CLAIM.later(conn, jobs, **_claim_params(job_id, lease))
            repo = _JOBS_REPO.later(conn, repos, id=job_id)
            its_remotes = _JOBS_REMOTES.later(conn, remotes, id=job_id)
            its_rules = _JOBS_RULES.later(conn, rules, id=job_id)
        job = claimed()
        if not job:
            return None
        found = repo()
        if not found:
            return job[0], None
        return job[0], {**found[0], "remotes": its_remotes(), "rules": its_rules()}

    def renew(self, job_id: int, lease: float) -> None:
        with self.db.tx(write=True) as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING.value)
                .values(lease_until=utcnow() + timedelta(seconds=lease))
            )

    def set_progress(self, job_id: int, phase: str, percent: int) -> None:
        with self.db.tx(write=True) as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == job_id)
                .values(progress={"phase": phase, "percent": percent})
            )

    def finish(self, job_id: int, result: dict[str, Any], progress: dict[str, Any] | None = None) -> Ended:
        return self._end(job_id, JobState.DONE, progress, result=result)

    def fail(self, job_id: int, code: str, message: str, result: dict[str, Any] | None = None,
             progress: dict[str, Any] | None = None) -> Ended:
        return self._end(job_id, JobState.FAILED, progress, result=result, error_code=code, error_message=message)

    def _end(self, job_id: int, state: JobState, progress: dict[str, Any] | None, *,
             result: dict[str, Any] | None, error_code: str | None = None, error_message: str | None = None) -> Ended:
        """Record the job's end; gives the ended row, to read once the transaction is committed
        (inside a pipelined one, reading it at once would wait for everything sent before)."""
        with self.db.writes() as conn:
            ended = _END.later(conn, jobs, id=job_id, state=state.value, now=utcnow(), result=result,
                               error_code=error_code, error_message=error_message, progress=progress)
        return lambda: next(iter(ended()), None)

    def fail_queued(self, repo_id: int, code: str, message: str) -> list[int]:
        """End every queued job of a repo as failed (the repo was deleted)."""
        with self.db.tx(write=True) as conn:
            ids = [r.id for r in conn.execute(
                select(jobs.c.id).where(jobs.c.repo_id == repo_id, jobs.c.state == JobState.QUEUED.value)
            )]
            if ids:
                conn.execute(
                    update(jobs).where(jobs.c.id.in_(ids), jobs.c.state == JobState.QUEUED.value)
                    .values(state=JobState.FAILED.value, error_code=code, error_message=message,
                            finished_at=utcnow())
                )
        return ids

    def needing_send(self, now: datetime, unsent_after: float) -> list[tuple[int, int]]:
        """Jobs whose message may be lost: queued and not sent (or long ago), or lease expired."""
        old = now - timedelta(seconds=unsent_after)
        with self.db.tx() as conn:
            rows = conn.execute(
                select(jobs.c.id, jobs.c.repo_id).where(
                    or_(
                        and_(jobs.c.state == JobState.QUEUED.value,
                             or_(jobs.c.sent_at.is_(None), jobs.c.sent_at < old),
                             jobs.c.created_at < old),
                        and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_until < now),
                    )
                ).order_by(jobs.c.id).limit(500)
            )
            return [(r.id, r.repo_id) for r in rows]
