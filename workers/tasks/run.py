"""The one Celery task: load a job by id, lock its clone, run the op, record the outcome."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery

from service.dispatch import NOTIFY, RUN_JOB, Dispatcher
from service.domain.types import JobKind, RepoState
from service.store import Store
from workers.git import GitError
from workers.tasks.context import WorkerContext
from workers.tasks.lock import clone_lock, heartbeat
from workers.tasks.notify import deliver, queue_notification
from workers.tasks.ops import OPS, PartialFailure, move_aside

log = logging.getLogger("gitferry.worker")
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
    job = jobs.claim(job_id, ctx.lease_seconds)
    if job is None:
        return  # done already, or another worker holds it
    repo = ctx.store.repos.get(job["repo_id"])
    if repo is None and job["kind"] != JobKind.REMOVE:
        jobs.fail(job_id, "repo_deleted", "the repo was deleted")
        return
    repo = repo or {"id": job["repo_id"], "name": job["repo"]}
    renew = lambda: jobs.renew(job_id, ctx.lease_seconds)  # noqa: E731
    started = time.monotonic()
    with heartbeat(renew, ctx.lease_seconds / 3):
        with clone_lock(ctx.clone_path(job["repo_id"])):
            outcome = _run_op(ctx, repo, job)
            if job["kind"] != JobKind.REMOVE:
                _housekeeping(ctx, repo)
    log.info("job_%s job=%s repo=%s kind=%s ms=%d", outcome, job_id, repo["name"], job["kind"],
             (time.monotonic() - started) * 1000)
    if job["kind"] != JobKind.REMOVE:
        queue_notification(ctx, job_id)


def _run_op(ctx: WorkerContext, repo: dict[str, Any], job: dict[str, Any]) -> str:
    jobs = ctx.store.jobs
    clone = ctx.clone(repo["id"])
    progress = ProgressRecorder(ctx, job["id"])
    try:
        try:
            result = OPS[job["kind"]](ctx, repo, clone, job, progress)
        except GitError as exc:
            if exc.code != "corrupt" or job["kind"] in (JobKind.CLONE, JobKind.REMOVE) or not clone.exists():
                raise
            move_aside(repo, clone)  # the next attempt clones again from origin
            result = OPS[job["kind"]](ctx, repo, clone, job, progress)
        if job["kind"] != JobKind.REMOVE:
            _save_refs(ctx, repo, clone)
            if repo["state"] != RepoState.READY:
                # Only now, with its branches recorded, is a new clone ready to be used.
                ctx.store.repos.update(repo["id"], state=RepoState.READY.value, error=None)
        jobs.finish(job["id"], result, progress=progress.latest)
        return "done"
    except PartialFailure as exc:
        _save_refs(ctx, repo, clone)
        jobs.fail(job["id"], exc.error.code, exc.error.message, result=exc.result, progress=progress.latest)
    except GitError as exc:
        if clone.exists() and clone.is_healthy():
            _save_refs(ctx, repo, clone)
        jobs.fail(job["id"], exc.code, exc.message, progress=progress.latest)
    except Exception:
        log.exception("job_crashed job=%s", job["id"])
        jobs.fail(job["id"], "internal", "internal error while running the job (see worker log)")
    return "failed"


def _housekeeping(ctx: WorkerContext, repo: dict[str, Any]) -> None:
    """gc and ref packing, after the job's outcome is recorded so nobody waits for them."""
    clone = ctx.clone(repo["id"])
    try:
        if clone.exists():
            clone.housekeeping()
    except GitError as exc:
        log.warning("housekeeping_failed repo=%s code=%s", repo["name"], exc.code)


def _save_refs(ctx: WorkerContext, repo: dict[str, Any], clone: Any) -> None:
    ctx.store.repos.save_refs(repo["id"], clone.refs().to_dict())


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
