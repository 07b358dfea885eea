"""The Celery app factory and the outbox: a job is recorded first, then its id is sent."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from kombu import transport as kombu_transports

from service.job_signals import JobSignals
from service.settings import Settings
from service.store import Store

log = logging.getLogger("gitferry.dispatch")
RUN_JOB = "gitferry.run_job"
NOTIFY = "gitferry.notify"


# kombu resolves the `sqla` scheme by name; give it our doorbell-waking subclass.
kombu_transports.TRANSPORT_ALIASES["sqla"] = "service.embedded_broker:EmbeddedTransport"


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings`; workers register their tasks on it."""
    app = Celery("gitferry", broker=settings.broker_url, set_as_current=False)
    # No ack emulation on Redis: it kept each delivered message in a hash until the task ended,
    # a round trip before every task (0.45 ms here) and one after, to redeliver what a dead
    # worker held. The job rows do that already: the sweeper re-sends a queued job nobody
    # claimed and a running one whose lease ran out (scheduler.resend_lost).
    options: dict[str, Any] = {"ack_emulation": False}
    if settings.embedded_broker:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        options = {"connect_args": {"timeout": 30}}
    app.conf.update(
        task_default_queue=settings.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_heartbeat=0,
    )
    app.conf.gitferry_settings = settings
    return app


class Dispatcher:
    """Sends recorded jobs to the workers; a send that fails is left to the sweeper."""

    def __init__(self, celery: Celery, store: Store, settings: Settings):
        self.celery = celery
        self.store = store
        self.settings = settings
        self.signals = JobSignals(settings)

    def send(self, job_id: int, repo_id: int, countdown: float | None = None, *, resend: bool = False) -> bool:
        """Send a recorded job. A first send is not written back: the sweeper counts from the
        job's creation, so only a re-send needs its time recorded (or it would go out every sweep)."""
        try:
            queue = self.settings.queue_for(repo_id)
            self.celery.send_task(RUN_JOB, args=[job_id], queue=queue, countdown=countdown)
        except Exception as exc:  # broker down: the job is recorded, the sweeper re-sends it
            log.warning("job_send_failed job=%s error=%s", job_id, type(exc).__name__)
            return False
        if resend:
            self.store.jobs.mark_sent(job_id)
        return True

    def notify(self, notification_id: int, repo_id: int, countdown: float | None = None) -> None:
        """Send a finished job's notification (retried by its task, never by the caller)."""
        try:
            queue = self.settings.queue_for(repo_id)
            self.celery.send_task(NOTIFY, args=[notification_id], queue=queue, countdown=countdown)
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
