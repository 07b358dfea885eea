"""The one Celery task: load a job by id, lock its clone, run the op, record the outcome."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery

from service.domain.records import Job, JobEnd, JobStart
from service.domain.types import JobKind, RepoState
from service.jobs import NOTIFY, READ, RUN_JOB, JobQueue, open_store
from workers.git import Clone, GitError
from workers.tasks import backups
from workers.tasks.context import WorkerContext
from workers.tasks.lock import clone_lock, heartbeat
from workers.tasks.notify import deliver
from workers.tasks.ops import OPS, Outcome, PartialFailure, move_aside
from workers.tasks.reads import answer_read

log = logging.getLogger("gitferry.worker")
_contexts: dict[int, WorkerContext] = {}
_contexts_lock = threading.Lock()


def context_for(app: Celery) -> WorkerContext:
    """One WorkerContext per Celery app (and so per worker process)."""
    with _contexts_lock:
        ctx = _contexts.get(id(app))
        if ctx is None:
            settings = app.conf.gitferry_settings
            store = open_store(settings)
            ctx = _contexts[id(app)] = WorkerContext(settings, store, JobQueue(app, store, settings))
        return ctx


def register(app: Celery) -> None:
    """Register gitferry's tasks on `app`."""

    @app.task(name=RUN_JOB, bind=True, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run_job_task(self: Any, job_id: int) -> None:
        run_job(context_for(app), job_id)

    @app.task(name=NOTIFY, bind=True, acks_late=True)  # type: ignore[untyped-decorator]
    def notify_task(self: Any, notification_id: int) -> None:
        deliver(context_for(app), notification_id)

    # A read is not a job: not acknowledged late, not run again; its asker gives up in time.
    @app.task(name=READ, acks_late=False, reject_on_worker_lost=False)  # type: ignore[untyped-decorator]
    def read_task(read_id: str, repo_id: int, kind: str, params: dict[str, Any]) -> None:
        answer_read(context_for(app), read_id, repo_id, kind, params)


def run_job(ctx: WorkerContext, job_id: int) -> None:
    """Run job `job_id` if nobody else is; safe to call twice for one job."""
    start = ctx.store.jobs.start(job_id, ctx.lease_seconds)
    if start is None:
        return  # done already, or another worker holds it
    job = start.job
    lease = Lease(ctx, job)
    if start.repo is None and job.kind != JobKind.REMOVE:
        _record_end(ctx, lease, JobEnd(job, None, None, "repo_deleted", "the repo was deleted"))
        return
    began = time.monotonic()
    clone = Clone(ctx.clone_path(job.repo_id), ctx.git_config(start.forges_version))
    with heartbeat(lease.renew, ctx.lease_seconds / 3), clone_lock(clone.path):
        if job.kind != JobKind.REMOVE:
            _clear_leftovers(job, clone)
        clone.limit_time(ctx.settings.job_timeout)
        end = _run_op(ctx, start, clone)
        if _record_end(ctx, lease, end):
            # What follows the answer holds the clone too: it gets a time limit of its own.
            clone.limit_time(ctx.settings.git_timeout)
            if end.refs_later and start.repo is not None:
                _record_refs(ctx, start, clone)
            if job.kind != JobKind.REMOVE:
                _backups_in_step(ctx, start, clone)
                _housekeeping(job.repo, clone)
    log.info("job_%s job=%s repo=%s kind=%s ms=%d", "done" if end.error_code is None else "failed", job_id,
             job.repo, job.kind, (time.monotonic() - began) * 1000)


class Lease:
    """Renews a running job's lease, until the job's end is being recorded or another worker
    took the job over (its lease ran out: this worker's end of it will not be recorded)."""

    def __init__(self, ctx: WorkerContext, job: Job):
        self.ctx = ctx
        self.job = job
        self.held = True

    def renew(self) -> None:
        if self.held and not self.ctx.store.jobs.renew(self.job.id, self.job.owner, self.ctx.lease_seconds):
            self.held = False
            log.warning("job_lease_lost job=%s repo=%s: another worker may be running it", self.job.id, self.job.repo)


def _record_end(ctx: WorkerContext, lease: Lease, end: JobEnd) -> bool:
    """Record the job's end and tell whoever waits on it; False if the job was no longer this
    worker's, and nothing was recorded."""
    lease.held = False  # a renewal now would only race the end
    ended = ctx.store.jobs.end(end)
    if ended is None:
        log.warning("job_end_not_recorded job=%s repo=%s: another worker took the job over", end.job.id,
                    end.job.repo)
        return False
    ctx.jobs.ended(ended.job)
    if ended.notification is not None:
        ctx.jobs.notify(ended.notification, ended.job.repo_id)
    return True


def _clear_leftovers(job: Job, clone: Clone) -> None:
    """Clear what killed gits left in the clone (Clone.clear_leftovers), before any git runs. A
    job that ran before and did not end had its worker die (or lose its lease) under it: its
    gits may have left more, looked for then only."""
    if not clone.exists():
        return
    try:
        removed = clone.clear_leftovers(after_crash=job.attempts > 1)
    except (OSError, GitError) as exc:  # the job runs anyway: git says what is wrong, if anything
        log.warning("leftovers_not_cleared repo=%s error=%s", job.repo, exc)
        return
    for path in removed:
        log.warning("leftover_removed repo=%s path=%s", job.repo, path)


def _run_op(ctx: WorkerContext, start: JobStart, clone: Clone) -> JobEnd:
    """Run the op; how it ended, with the clone's refs to record."""
    job = start.job
    progress = ProgressRecorder(ctx, job.id)
    outcome: Outcome | None = None
    error: GitError | None = None
    try:
        try:
            outcome = OPS[job.kind](ctx, start, clone, progress)
        except GitError as exc:
            if exc.code != "corrupt" or job.kind in (JobKind.CLONE, JobKind.REMOVE) or not clone.exists():
                raise
            move_aside(job.repo, clone)  # the next attempt clones again from origin
            outcome = OPS[job.kind](ctx, start, clone, progress)
        refs = job.kind != JobKind.REMOVE
    except PartialFailure as exc:
        outcome, error, refs = exc.outcome, exc.error, True
    except GitError as exc:
        # A job stopped at its time limit says nothing of the clone (and has no time to look).
        error, refs = exc, clone.exists() and (exc.code == "job_timeout" or clone.is_healthy())
    except Exception:
        log.exception("job_crashed job=%s", job.id)
        error, refs = GitError("internal", "internal error while running the job (see worker log)"), False
    return _end(start, clone, outcome, error, progress.latest, refs)


def _end(start: JobStart, clone: Clone, outcome: Outcome | None, error: GitError | None,
         progress: dict[str, Any] | None, refs: bool) -> JobEnd:
    """The job's end as recorded. The refs of a ready repo are not waited for: they are marked
    pending, and recorded whole, with the ahead/behind that may need git to walk history, once
    the answer is out (_record_refs); reading them all and building the snapshot was a
    millisecond of every answer. A new clone's are recorded with its end: it is ready only with
    its branches recorded."""
    later = refs and start.repo is not None and start.repo.state == RepoState.READY
    snapshot = None
    if refs and not later:
        try:
            snapshot = clone.refs(distances=False).to_dict()
        except GitError as exc:  # the outcome is still recorded; the refs wait for the next job
            log.warning("refs_not_read job=%s code=%s", start.job.id, exc.code)
    return JobEnd(
        start.job, start.repo, outcome.result if outcome else ({} if error is None else None),
        error_code=error.code if error else None, error_message=error.message if error else None,
        progress=progress, fetched_at=outcome.fetched_at if outcome else None, refs=snapshot,
        remote_fetches=outcome.remote_fetches if outcome else (),
        refs_later=later or bool(snapshot and snapshot.get("pending")))


def _record_refs(ctx: WorkerContext, start: JobStart, clone: Clone) -> None:
    """Record the refs whole, with ahead/behind, once the job's answer is out (the API's
    listings wait for them while they are pending)."""
    try:
        snapshot = clone.refs().to_dict()
    except GitError as exc:  # the next job records them
        log.warning("refs_not_read repo=%s code=%s", start.job.repo, exc.code)
        return
    ctx.store.repos.save_refs(start.job.repo_id, snapshot)


def _backups_in_step(ctx: WorkerContext, start: JobStart, clone: Clone) -> None:
    """Backup refs deleted (marked so, or past retention) and recorded (backups.in_step)."""
    try:
        if clone.exists() and start.repo is not None:
            backups.in_step(ctx, start, clone)
    except Exception:  # the next job tries again
        log.exception("backups_not_in_step repo=%s", start.job.repo)


def _housekeeping(repo_name: str, clone: Clone) -> None:
    """gc and ref packing, after the job's outcome is recorded so nobody waits for them."""
    try:
        if clone.exists():
            clone.housekeeping()
    except GitError as exc:
        log.warning("housekeeping_failed repo=%s code=%s message=%s", repo_name, exc.code, exc.message)


class ProgressRecorder:
    """Keeps git's latest progress; writes it to the job at most twice a second, and not at all
    while a job is young: most jobs end before anyone could look, and each write costs them time."""

    def __init__(self, ctx: WorkerContext, job_id: int):
        self.ctx = ctx
        self.job_id = job_id
        self.started = time.monotonic()
        self.written_at = 0.0
        self.latest: dict[str, Any] | None = None

    def __call__(self, phase: str, percent: int) -> None:
        self.latest = {"phase": phase, "percent": percent}
        now = time.monotonic()
        if now - self.started < 0.25 or now - self.written_at < 0.5:
            return
        self.written_at = now
        try:
            self.ctx.store.jobs.set_progress(self.job_id, phase, percent)
        except Exception:  # progress is best effort; never let it stop the git work
            log.debug("progress_not_recorded job=%s", self.job_id)
