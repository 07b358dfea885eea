"""Jobs: written before their message is sent, claimed with a lease, ended with an outcome."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select, update

from service.domain.records import Ended, Job, JobEnd, JobStart, Remote, Repo, Rule
from service.domain.types import JobKind, JobState, RepoState, fetch_key_parts, utcnow
from service.store.db import Database
from service.store.notifications import NotificationStore
from service.store.repos import RepoStore
from service.store.sql import Ending, Sql, records
from service.store.tables import UTCDateTime, jobs

# The columns of a new job, and the clause that makes a queued job's twins join it instead: the
# one definition of both, used by every statement that adds jobs (deliveries' too).
NEW_JOB_COLUMNS = 'repo_id, repo, kind, state, "trigger", params, coalesce_key, attempts, created_at, started_by'
JOINS_QUEUED_TWIN = "ON CONFLICT (coalesce_key) WHERE state = 'queued' AND coalesce_key IS NOT NULL DO NOTHING"

# Hand-written: every API call's and webhook's job, every job's claim and end (service.store.sql
# says why). A webhook's jobs read their ids only (join_or_add).
_NEW_JOB = f"""
    INSERT INTO jobs ({NEW_JOB_COLUMNS}) VALUES (:repo_id, :repo, :kind, 'queued', :trigger, :params, :key, 0, :now,
    :started_by)
    {JOINS_QUEUED_TWIN} RETURNING {{}}"""
_QUEUED_TWIN = "SELECT {} FROM jobs WHERE coalesce_key = :key AND state = 'queued'"
_ADD, _TWIN = Sql(_NEW_JOB.format("*"), Job), Sql(_QUEUED_TWIN.format("*"), Job)
_ADD_ID, _TWIN_ID = Sql(_NEW_JOB.format("id")), Sql(_QUEUED_TWIN.format("id"))
# An API fetch's job, added in the round trip that reads its repo, keyed as fetch_coalesce_key().
_ADD_FETCH_OF = Sql(f"""
    INSERT INTO jobs ({NEW_JOB_COLUMNS})
    SELECT id, name, :kind, 'queued', :trigger, :params,
        CAST(:key_head AS TEXT) || CAST(id AS TEXT) || CAST(:key_tail AS TEXT), 0, :now, :started_by
    FROM repos WHERE name = :name
    {JOINS_QUEUED_TWIN} RETURNING *""", Job)
_GET = Sql("SELECT * FROM jobs WHERE id = :id", Job)
# A claim makes the claiming worker the job's owner (a token of its own), and a job whose worker
# died due again as soon as its lease runs out (resend_at).
_CLAIM = Sql("""
    UPDATE jobs SET state = 'running', owner = :owner, lease_until = :lease_until, started_at = :now,
        attempts = attempts + 1, resend_at = NULL
    WHERE id = :id AND (state = 'queued' OR (state = 'running' AND lease_until < :now))
    RETURNING *""", Job)
# What running a job needs, read as it is claimed (JobStore.start).
_OF_JOB = "SELECT * FROM {} WHERE {} = (SELECT repo_id FROM jobs WHERE id = :id)"
_JOBS_REPO = Sql(_OF_JOB.format("repos", "id"), Repo)
_JOBS_REMOTES = Sql(_OF_JOB.format("remotes", "repo_id") + " ORDER BY name", Remote)
_JOBS_RULES = Sql(_OF_JOB.format("rules", "repo_id") + " ORDER BY name", Rule)
# Forge rows are only added and deleted: their count and last id change with every change.
FORGES_VERSION = Sql("SELECT count(*) || ':' || coalesce(max(id), 0) FROM forges")
_END = Sql("""
    UPDATE jobs SET state = :state, finished_at = :now, lease_until = NULL, result = :result,
        error_code = :error_code, error_message = :error_message, progress = COALESCE(:progress, progress)
    WHERE id = :id AND owner = :owner AND state = 'running' RETURNING *""", Job)
_RENEW = Sql("""
    UPDATE jobs SET lease_until = :lease_until WHERE id = :id AND owner = :owner AND state = 'running'
    RETURNING id""")
# The sweeper sends a job again a lease after it was queued (or after its worker's lease ran
# out), then after twice as long each time, this many times: 2, 4, then 8 leases apart.
RESEND_DOUBLINGS = 3


class JobStore:
    def __init__(self, db: Database, repos: RepoStore, notifications: NotificationStore):
        self.db = db
        self.repos = repos
        self.notifications = notifications

    def add(self, repo: Repo, kind: str, trigger: str, params: dict[str, Any],
            coalesce_key: str | None = None, started_by: str | None = None) -> tuple[Job, bool]:
        """Record a queued job (`started_by`: the name of the token that asked for it); with
        `coalesce_key`, join an identical queued job instead. Returns the job and whether it is
        new. The insert and the look for a twin go out together, with the commit: one round trip
        on PostgreSQL."""
        for _ in range(3):
            with self.db.write() as conn:
                added = _ADD.later(conn, repo_id=repo.id, repo=repo.name, kind=kind, trigger=trigger,
                                   params=params, key=coalesce_key, now=utcnow(), started_by=started_by)
                twin = _TWIN.later(conn, key=coalesce_key) if coalesce_key else _nothing
            new, old = added(), twin()  # read once committed
            if new or old:
                return (new[0], True) if new else (old[0], False)
            # the twin was claimed in between: add again
        raise RuntimeError("could not record job")

    def join_or_add(self, conn: Connection, repo_id: int, repo: str, kind: str, trigger: str,
                    params: dict[str, Any], coalesce_key: str | None) -> tuple[int, bool]:
        """Inside a write: the id of the queued twin to join, or of a new job (and whether it is
        new). The twin is looked for first, and only ids are read: in a burst of webhooks nearly
        every delivery joins one, and reading whole jobs cost the intake a sixth of its rate."""
        for _ in range(3):
            if coalesce_key and (twin := _TWIN_ID.run(conn, key=coalesce_key).fetchone()):
                return twin[0], False
            added = _ADD_ID.run(conn, repo_id=repo_id, repo=repo, kind=kind, trigger=trigger, params=params,
                                key=coalesce_key, now=utcnow(), started_by=None).fetchone()
            if added:
                return added[0], True
            # another request queued the same work a moment ago: join it
        raise RuntimeError("could not record job")

    def add_fetch_of(self, name: str, trigger: str, params: dict[str, Any], coalesce: bool,
                     started_by: str | None = None) -> tuple[Repo, Job, bool] | None:
        """add() a fetch of every remote of the repo named `name`, read in the same round trip:
        (repo, job, whether it is new), or None if there is no such repo. With `coalesce`,
        keyed as fetch_coalesce_key() keys it."""
        head, between = fetch_key_parts()
        tail = between + "*"  # of every remote
        with self.db.write() as conn:
            repo = self.repos.named_later(conn, name)
            added = _ADD_FETCH_OF.later(conn, name=name, kind=JobKind.FETCH.value, trigger=trigger, params=params,
                                        key_head=head if coalesce else None, key_tail=tail, now=utcnow(),
                                        started_by=started_by)
        found, job = repo(), added()
        if not found:
            return None
        if job:
            return found[0], job[0], True
        # a queued twin holds the key: join it
        return found[0], *self.add(found[0], JobKind.FETCH, trigger, params, head + str(found[0].id) + tail,
                                   started_by)

    def get(self, job_id: int) -> Job | None:
        with self.db.read() as conn:
            return _GET.one(conn, id=job_id)

    def latest(self, *, repo: str | None = None, state: str | None = None, kind: str | None = None,
             limit: int = 50) -> list[Job]:
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if repo is not None:
            query = query.where(jobs.c.repo == repo)
        if state is not None:
            query = query.where(jobs.c.state == state)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        with self.db.read() as conn:
            return records(Job, conn.execute(query))

    def start(self, job_id: int, lease: float) -> JobStart | None:
        """Claim a queued job (or one whose worker's lease ran out) and read all running it needs;
        None if another worker holds it or it ended. One round trip on PostgreSQL."""
        now = utcnow()
        # A claim lost in a crash of the database is the job running again, as when a worker
        # dies: it need not wait for the disk (the job's end does).
        with self.db.write(durable=False) as conn:
            claimed = _CLAIM.later(conn, id=job_id, now=now, lease_until=now + timedelta(seconds=lease),
                                   owner=secrets.token_hex(16))
            repo = _JOBS_REPO.later(conn, id=job_id)
            its_remotes = _JOBS_REMOTES.later(conn, id=job_id)
            its_rules = _JOBS_RULES.later(conn, id=job_id)
            version = FORGES_VERSION.later(conn)
        job = claimed()
        if not job:
            return None
        found = repo()
        return JobStart(job[0], found[0] if found else None, tuple(its_remotes()), tuple(its_rules()),
                        str(version()[0][0]))

    def renew(self, job_id: int, owner: str | None, lease: float) -> bool:
        """Extend a running job's lease; False if `owner` no longer holds the job."""
        with self.db.write() as conn:
            return bool(_RENEW.all(conn, id=job_id, owner=owner, lease_until=utcnow() + timedelta(seconds=lease)))

    def set_progress(self, job_id: int, phase: str, percent: int) -> None:
        with self.db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(progress={"phase": phase, "percent": percent}))

    def end(self, end: JobEnd) -> Ended | None:
        """Record a job's end with what it changed, in one transaction (one round trip on
        PostgreSQL): the repo's refs (or that they are pending), when it fetched, that a new
        clone is ready, and the notification to send. None, with nothing recorded, if the job is
        no longer this end's (`end.job.owner`): its lease ran out and another worker claimed it."""
        job, repo = end.job, end.repo
        ending = Ending(job.id, job.owner, utcnow())
        notification = None
        with self.db.write() as conn:
            # First: the writes after it are made only if it ended the job (sql.ENDED_HERE).
            ended = _END.later(conn, id=job.id, owner=job.owner, now=ending.at, result=end.result,
                               state=(JobState.DONE if end.error_code is None else JobState.FAILED).value,
                               error_code=end.error_code, error_message=end.error_message, progress=end.progress)
            if repo is not None and job.kind != JobKind.REMOVE:
                if end.refs_later:
                    self.repos.refs_pending(repo.id, ending=ending)
                elif end.refs is not None:
                    self.repos.save_refs(repo.id, end.refs, ending=ending)
                if end.fetched_at is not None:
                    self.repos.fetched(repo.id, end.fetched_at, ending=ending)
                if end.remote_fetches:
                    self.repos.remotes_fetched(repo.id, end.remote_fetches, ending=ending)
                if end.error_code is None and repo.state != RepoState.READY:
                    # only now, with its branches recorded, is a new clone usable
                    self.repos.ready(repo.id, ending=ending)
                if repo.notify_url:
                    notification = self.notifications.add_later(ending, repo.notify_url)
        found = ended()
        if not found:
            return None
        return Ended(found[0], notification() if notification else None)

    def fail_queued(self, repo_id: int, code: str, message: str) -> list[int]:
        """End every queued job of a repo as failed (the repo was deleted)."""
        queued = and_(jobs.c.repo_id == repo_id, jobs.c.state == JobState.QUEUED.value)
        with self.db.write() as conn:
            ids = [r.id for r in conn.execute(select(jobs.c.id).where(queued))]
            if ids:
                conn.execute(update(jobs).where(jobs.c.id.in_(ids), queued).values(
                    state=JobState.FAILED.value, error_code=code, error_message=message, finished_at=utcnow()))
        return ids

    def send_failed(self, job_id: int) -> None:
        """A queued job's message did not go out: the sweeper sends it at its next look."""
        with self.db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == JobState.QUEUED.value)
                         .values(resend_at=utcnow()))

    def needing_send(self, now: datetime, lease: float) -> list[tuple[int, int]]:
        """(job, repo) of jobs whose message may be lost: queued a lease ago, or running past
        their lease, and not sent again since (or longer ago than the back-off of mark_resent);
        and queued jobs whose send failed. A queued job's message is most likely still waiting
        for a worker: sending it more often only fills the broker with copies."""
        queued = jobs.c.state == JobState.QUEUED.value
        orphaned = and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_until < now)
        first = or_(orphaned, jobs.c.created_at < now - timedelta(seconds=lease))
        due = or_(jobs.c.resend_at <= now, and_(jobs.c.resend_at.is_(None), first))
        with self.db.read() as conn:
            rows = conn.execute(select(jobs.c.id, jobs.c.repo_id).where(or_(queued, orphaned), due)
                                .order_by(jobs.c.id).limit(500))
            return [(r.id, r.repo_id) for r in rows]

    def mark_resent(self, job_ids: list[int], now: datetime, lease: float) -> None:
        """Record that the jobs were sent again at `now`: each is due again after twice as long
        as it waited before (RESEND_DOUBLINGS). A job claimed meanwhile is left alone: its claim
        made it due at its lease's end."""
        def after(leases: int) -> Any:
            return literal(now + timedelta(seconds=lease * leases), UTCDateTime())

        backoff = case(*((jobs.c.resends == n, after(2 ** (n + 1))) for n in range(RESEND_DOUBLINGS)),
                       else_=after(2 ** RESEND_DOUBLINGS))
        not_claimed = or_(jobs.c.state == JobState.QUEUED.value, jobs.c.lease_until < now)
        with self.db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id.in_(job_ids), not_claimed)
                         .values(sent_at=now, resends=jobs.c.resends + 1, resend_at=backoff))

    def counts(self) -> list[tuple[str, str, int]]:
        """(kind, state, how many) of all jobs."""
        with self.db.read() as conn:
            rows = conn.execute(select(jobs.c.kind, jobs.c.state, func.count()).group_by(jobs.c.kind, jobs.c.state))
            return [(kind, state, count) for kind, state, count in rows]


def _nothing() -> list[Job]:
    return []
