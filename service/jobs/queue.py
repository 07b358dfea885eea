"""Queueing a job (recorded first, then sent), waiting for its end, and sending notifications.

A job is written to the database before its message goes to the broker (an outbox): if the
broker is down, the job is still recorded and the sweeper sends it later. Every caller that
queues a job (API, webhook intake, scheduler, a fetch's sync rules) goes through JobQueue.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from celery import Celery

from service.domain.records import Job, Repo
from service.domain.types import Trigger
from service.forges.entries import forge_config
from service.jobs.celery_app import NOTIFY, RUN_JOB
from service.jobs.reads import Reads
from service.jobs.signals import JobSignals
from service.settings import Settings
from service.store import Intake, Store

log = logging.getLogger("gitferry.jobs")
LOOK_EVERY = 0.25  # seconds between looks at a waited-for job when no signal comes
# The name of the API token the request being answered was signed with (the web's auth sets it
# for the request, a dashboard session's too): who an API job was started by, unless add() is told.
STARTED_BY: contextvars.ContextVar[str | None] = contextvars.ContextVar("gitferry_started_by", default=None)


def open_store(settings: Settings) -> Store:
    """The store over the database of `settings`, with its forges, the key to their secrets,
    their drivers' knowledge of what each kind implies, and the database's time limits."""
    return Store(settings.database_url, secret_key=settings.secret_key, forges=settings.forges,
                 complete_forge=forge_config, connect_timeout=settings.db_connect_timeout,
                 statement_timeout=settings.db_statement_timeout)


class WaitsFull(Exception):
    """As many calls as may are waiting on jobs already; the job was not recorded."""

    def __init__(self, bound: int):
        super().__init__(f"{bound} calls are waiting on jobs already")
        self.bound = bound


class JobQueue:
    def __init__(self, celery: Celery, store: Store, settings: Settings, *, max_waits: int | None = None):
        """`max_waits`: how many calls of this process may wait on a job at once (None: any number)."""
        self.celery = celery
        self.store = store
        self.settings = settings
        self.signals = JobSignals(settings)
        self.reads = Reads(celery, settings)  # reads of a clone, which are not jobs
        self.max_waits = max_waits
        self._waiting_now = 0
        self._waits_lock = threading.Lock()

    def add(self, repo: Repo, kind: str, params: dict[str, Any], *, trigger: str = Trigger.API,
            coalesce_key: str | None = None, wait: float | None = None, started_by: str | None = None) -> Job:
        """Record a job (joining a queued twin when coalescing) and send it. With `wait` seconds,
        the job once it ended (or the wait ran out); WaitsFull, with nothing recorded, if as many
        calls as may are waiting already. An API job is `started_by` the token of the request
        being answered (STARTED_BY) unless told; webhook, schedule and rule jobs by none."""
        with self._waiting(wait):
            job, new = self.store.jobs.add(repo, kind, trigger, params, coalesce_key,
                                           _started_by(trigger, started_by))
            return self._sent(job, new, wait)

    def add_fetch_of(self, name: str, params: dict[str, Any], *, coalesce: bool,
                     wait: float | None = None, started_by: str | None = None) -> Job | None:
        """add() a fetch of every remote of the repo named `name`; None if there is none. Reading
        the repo and recording the job are one round trip."""
        with self._waiting(wait):
            recorded = self.store.jobs.add_fetch_of(name, Trigger.API, params, coalesce,
                                                    _started_by(Trigger.API, started_by))
            if recorded is None:
                return None
            _repo, job, new = recorded
            return self._sent(job, new, wait)

    def read(self, repo_id: int, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """Ask the worker of the repo's shard for read `kind` (Reads.ask). A read holds a web
        thread until answered, as a waiting job does: it takes a place among the calls that
        wait (WaitsFull when none is free), so that a worker away cannot take every thread."""
        with self._waiting(self.settings.read_timeout):
            return self.reads.ask(repo_id, kind, params)

    def check_place(self, wait: float | None) -> None:
        """WaitsFull now if a call would wait `wait` seconds and finds every place taken: a call
        to be refused is refused before it reads anything (add() takes the place itself)."""
        if wait and self.max_waits and self._waiting_now >= self.max_waits:
            raise WaitsFull(self.max_waits)

    @contextlib.contextmanager
    def _waiting(self, wait: float | None) -> Iterator[None]:
        """A place among the calls that wait, taken before the job is recorded: a call refused
        changes nothing. Each waiting call holds a web thread (up to a minute), and webhooks and
        health checks need some left."""
        if not wait or not self.max_waits:
            yield
            return
        with self._waits_lock:
            self.check_place(wait)
            self._waiting_now += 1
        try:
            yield
        finally:
            with self._waits_lock:
                self._waiting_now -= 1

    def deliver(self, forge: str, delivery_id: str, event: str, keys: set[str], ignored: str | None,
                debounce: float) -> Intake:
        """Record a webhook delivery with the fetches it queued or joined, then send the new ones."""
        intake = self.store.deliveries.record(forge, delivery_id, event, keys, ignored, debounce=debounce)
        for job_id, repo_id, countdown in intake.to_send:
            self.send(job_id, repo_id, countdown=countdown)
        return intake

    def _sent(self, job: Job, new: bool, wait: float | None) -> Job:
        """Send a recorded job, unless it joined a queued twin (sent already)."""
        send = (lambda: self.send(job.id, job.repo_id)) if new else None
        if not wait:
            if send is not None:
                send()
            return job
        return self.wait(job.id, wait, send=send)

    def send(self, job_id: int, repo_id: int, countdown: float | None = None, *, resend: bool = False) -> bool:
        """Send a recorded job to its repo's worker queue; False if the broker did not take it.
        A first send is not written back (the sweeper counts from the job's creation); one that
        fails is, so that the sweeper sends it at its next look rather than a lease later. A
        re-send is recorded by the sweeper (and one that fails is simply still due)."""
        try:
            self.celery.send_task(RUN_JOB, args=[job_id], queue=self.settings.queue_for(repo_id), countdown=countdown)
        except Exception as exc:  # broker down: the job is recorded, the sweeper re-sends it
            log.warning("job_send_failed job=%s error=%s", job_id, type(exc).__name__)
            if not resend:
                try:
                    self.store.jobs.send_failed(job_id)
                except Exception:  # the sweeper still sends it, a lease after it was queued
                    log.warning("job_send_failed_not_recorded job=%s", job_id)
            return False
        return True

    def wait(self, job_id: int, seconds: float, send: Callable[[], object] | None = None) -> Job:
        """The job once it ended, or after `seconds`; woken by the worker's signal. `send` is a
        new job's first send, made once listening: the job cannot end before it."""
        deadline = time.monotonic() + seconds
        with self.signals.listening(job_id) as wait:
            carried = None
            if send is not None:
                send()
                carried = wait(min(seconds, LOOK_EVERY))
            while True:
                # The worker's signal may carry the ended job (committed before it was sent).
                job = Job.from_wire(carried) if carried else None
                if job is None or job.id != job_id:
                    job = self.store.jobs.get(job_id)
                assert job is not None
                left = deadline - time.monotonic()
                if job.finished or left <= 0:
                    return job
                carried = wait(min(left, LOOK_EVERY))  # a signal lost on the way costs at most this

    def ended(self, job: Job) -> None:
        """Tell whoever waits on the job that it ended, handing them the job."""
        self.signals.ended(job.id, job.to_wire())

    def notify(self, notification_id: int, repo_id: int, countdown: float | None = None) -> None:
        """Send a finished job's notification (retried by its task, never by the caller)."""
        try:
            self.celery.send_task(NOTIFY, args=[notification_id], queue=self.settings.queue_for(repo_id),
                                  countdown=countdown)
        except Exception as exc:
            log.warning("notify_send_failed notification=%s error=%s", notification_id, type(exc).__name__)

    def ping(self) -> str | None:
        """None when the broker answers, else what is wrong."""
        try:
            with self.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:
            return f"broker unreachable ({type(exc).__name__})"
        return None


def _started_by(trigger: str, told: str | None) -> str | None:
    """Who a job with `trigger` was started by: as told, else the request's token for an API job."""
    if told is not None:
        return told
    return STARTED_BY.get() if trigger == Trigger.API else None
