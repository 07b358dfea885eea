"""The Celery app factory: the broker (Redis, or the embedded one on SQLite) and the task names."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import transport as kombu_transports

from service.settings import Settings

RUN_JOB = "gitferry.run_job"
NOTIFY = "gitferry.notify"
READ = "gitferry.read"  # a read of a clone (service/jobs/reads.py): not a job

# kombu resolves the `sqla` scheme by name; give it our doorbell-waking subclass.
kombu_transports.TRANSPORT_ALIASES["sqla"] = "service.jobs.embedded_broker:EmbeddedTransport"


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings`; workers register their tasks on it."""
    app = Celery("gitferry", broker=settings.broker_url, set_as_current=False)
    # No ack emulation on Redis: it kept each delivered message in a hash until the task ended,
    # a round trip before every task and one after, to redeliver what a dead
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
