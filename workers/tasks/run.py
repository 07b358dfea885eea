"""The one Celery task: load a job by id, lock its clone, run the op, record the outcome."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, NamedTuple

from celery import Celery

from service.dispatch import NOTIFY, RUN_JOB, Dispatcher
from service.domain.types import JobKind, RepoState
from service.store import Store
from service.store.sql import row_to_json
from workers.git import Clone, GitConfig, GitError
from workers.tasks.context import WorkerContext
from workers.tasks.lock import clone_lock, heartbeat
from workers.tasks.notify import deliver
from workers.tasks.ops import OPS, PartialFailure, move_aside

log = logging.getLogger("gitferry.worker")
Row = dict[str, Any]
_contexts: dict[int, WorkerContext] = {}
_contexts_lock = threading.Lock()


def context_for(app: Celery) -> WorkerContext:
    """One WorkerContext per Celery app (and so per worker process)."""
    with _contexts_lock:
        ctx = _contexts.get(id(app))
        if ctx is None:
            settings = app.conf.gitferry_settings
            store = Store(settings.database_url)
            ctx = WorkerContext(settings, store, Dispatcher(app, store, settings))
            _contexts[id(app)] = ctx
        return ctx


def register(app: Celery) -> None:
    """Register gitferry's task on `app`."""

    @app.task(name=RUN_JOB, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run_job_task(self: Any, job_id: int) -> None:
        run_job(context_for(app), job_id)

    @app.task(name=NOTIFY, bind=True, acks_late=True)
    def notify_task(self: Any, notification_id: int) -> None:
        deliver(context_for(app), notification_id)


def run_job(ctx: WorkerContext, job_id: int) -> None:
    """Run job `job_id` if nobody else is; safe to call twice for one job."""
    jobs = ctx.store.jobs
    started = _start(ctx, job_id)
    if started is None:
        return  # done already, or another worker holds it
    job, repo, git_config = started
    if repo is None and job["kind"] != JobKind.REMOVE:
        ended = jobs.fail(job_id, "repo_deleted", "the repo was deleted")
        _signal_end(ctx, job_id, ended())
        return
    repo = repo or {"id": job["repo_id"], "name": job["repo"], "state": None, "notify_url": None}
    renew = lambda: jobs.renew(job_id, ctx.lease_seconds)  # noqa: E731
    began = time.monotonic()
    clone = Clone(ctx.clone_path(job["repo_id"]), git_config)
    with heartbeat(renew, ctx.lease_seconds / 3):
        with clone_lock(clone.path):
            recorded = _run_op(ctx, repo, job, clone)
            _signal_end(ctx, job_id, recorded.job)
            if recorded.notification is not None:
                ctx.dispatcher.notify(recorded.notification, repo["id"])
            if recorded.refs_later:
                _record_refs(ctx, repo, clone)
            if job["kind"] != JobKind.REMOVE:
                _housekeeping(repo, clone)
    log.info("job_%s job=%s repo=%s kind=%s ms=%d", recorded.outcome, job_id, repo["name"], job["kind"],
             (time.monotonic() - began) * 1000)


def _signal_end(ctx: WorkerContext, job_id: int, ended: Row | None) -> None:
    """Tell whoever waits on the job that it ended, handing them its row."""
    ctx.dispatcher.signals.ended(job_id, row_to_json(ended) if ended else None)


class Recorded(NamedTuple):
    """What a job's end wrote: its outcome and row, the notification to send, and whether the
    refs are still to be recorded."""

    outcome: str
    job: Row | None
    notification: int | None
    refs_later: bool


def _start(ctx: WorkerContext, job_id: int) -> tuple[Row, Row | None, GitConfig] | None:
    """Claim the job and read all it needs: the repo with its remotes and rules, and the git
    settings (forge credentials)."""
    started = ctx.store.jobs.start(job_id, ctx.lease_seconds)
    if started is None:
        return None
    job, repo = started
    if repo is None:
        return job, None, ctx.git_config
    repo["fetched_at"] = None  # set by a job that fetched
    return job, repo, ctx.git_config_for(repo.pop("forges_version"))


def _run_op(ctx: WorkerContext, repo: Row, job: Row, clone: Clone) -> Recorded:
    """Run the op and record its outcome."""
    progress = ProgressRecorder(ctx, job["id"])
    end: dict[str, Any]
    try:
        try:
            result = OPS[job["kind"]](ctx, repo, clone, job, progress)
        except GitError as exc:
            if exc.code != "corrupt" or job["kind"] in (JobKind.CLONE, JobKind.REMOVE) or not clone.exists():
                raise
            move_aside(repo, clone)  # the next attempt clones again from origin
            result = OPS[job["kind"]](ctx, repo, clone, job, progress)
        end = {"result": result, "refs": job["kind"] != JobKind.REMOVE}
    except PartialFailure as exc:
        end = {"result": exc.result, "error": exc.error, "refs": True}
    except GitError as exc:
        end = {"error": exc, "refs": clone.exists() and clone.is_healthy()}
    except Exception:
        log.exception("job_crashed job=%s", job["id"])
        end = {"error": GitError("internal", "internal error while running the job (see worker log)"), "refs": False}
    return _record(ctx, repo, job, clone, progress.latest, **end)


def _record(ctx: WorkerContext, repo: Row, job: Row, clone: Clone, progress: dict[str, Any] | None, *,
            refs: bool, result: dict[str, Any] | None = None,
            error: GitError | None = None) -> Recorded:
    """Write the job's end, the clone's refs and the notification in one transaction.

    The refs of a ready repo are not waited for: they are marked `pending`, and recorded whole,
    with the ahead/behind that may need git to walk history, once the answer is out
    (_record_refs). Reading them all and building the snapshot was a millisecond of every
    answer. A new clone's are recorded here: it is ready only with its branches recorded.
    """
    later = refs and repo["state"] == RepoState.READY
    snapshot = None
    if refs and not later:  # git runs before the write lock is taken
        try:
            snapshot = clone.refs(distances=False).to_dict()
        except GitError as exc:  # the outcome is still recorded; the refs wait for the next job
            log.warning("refs_not_read job=%s code=%s", job["id"], exc.code)
    store = ctx.store
    notification = None
    with store.db.tx(write=True, pipelined=True):  # one round trip on PostgreSQL
        if later:
            store.repos.refs_pending(repo["id"])  # a flag here; the snapshot once the answer is out
        elif snapshot is not None:
            store.repos.save_refs(repo["id"], snapshot)
        if repo.get("fetched_at"):
            store.repos.fetched(repo["id"], repo["fetched_at"])
        if error is None and job["kind"] != JobKind.REMOVE and repo["state"] != RepoState.READY:
            # Only now, with its branches recorded, is a new clone ready to be used.
            store.repos.ready(repo["id"])
        if error is None:
            ended = store.jobs.finish(job["id"], result or {}, progress=progress)
        else:
            ended = store.jobs.fail(job["id"], error.code, error.message, result=result, progress=progress)
        if job["kind"] != JobKind.REMOVE and repo.get("notify_url"):
            notification = store.notifications.create(job["id"], repo["notify_url"])
    later = later or bool(snapshot and snapshot.get("pending"))
    return Recorded("done" if error is None else "failed", ended(), notification, later)


def _record_refs(ctx: WorkerContext, repo: Row, clone: Clone) -> None:
    """Record the refs whole, with ahead/behind, once the job's answer is out (the API's
    listings wait for them while they are pending)."""
    try:
        snapshot = clone.refs().to_dict()
    except GitError as exc:  # the next job records them
        log.warning("refs_not_read repo=%s code=%s", repo["name"], exc.code)
        return
    ctx.store.repos.save_refs(repo["id"], snapshot)


def _housekeeping(repo: Row, clone: Clone) -> None:
    """gc and ref packing, after the job's outcome is recorded so nobody waits for them."""
    try:
        if clone.exists():
            clone.housekeeping()
    except GitError as exc:
        log.warning("housekeeping_failed repo=%s code=%s", repo["name"], exc.code)


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
