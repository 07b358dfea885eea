"""The beat: queue auto-fetches when they are due and re-send jobs whose message was lost."""

from __future__ import annotations

import logging
import threading
import time

from service.dispatch import Dispatcher
from service.domain.types import JobKind, Trigger, fetch_coalesce_key
from service.settings import Settings
from service.store import Store
from service.store.tables import utcnow

log = logging.getLogger("gitferry.beat")


def queue_due_fetches(settings: Settings, store: Store, dispatcher: Dispatcher) -> list[int]:
    """Queue a fetch of every remote for each repo whose interval has come round."""
    now = utcnow()
    queued = []
    for repo, interval in store.repos.due_for_fetch(now, settings.fetch_interval):
        if not store.repos.advance_schedule(repo, interval, now):
            continue  # another scheduler took this turn
        job, new = store.jobs.create(repo, JobKind.FETCH, Trigger.SCHEDULE,
                                     {"remote": None, "prune": True},
                                     coalesce_key=fetch_coalesce_key(repo["id"], None))
        if new:
            dispatcher.send(job["id"], job["repo_id"])
            queued.append(job["id"])
    return queued


def resend_lost(store: Store, dispatcher: Dispatcher, unsent_after: float) -> list[int]:
    """Re-send queued jobs whose message never arrived and jobs whose worker died."""
    lost = store.jobs.needing_send(utcnow(), unsent_after)
    for job_id, repo_id in lost:
        log.info("job_resent job=%s", job_id)
        dispatcher.send(job_id, repo_id, resend=True)
    return [job_id for job_id, _ in lost]


def run_beat(settings: Settings, store: Store, dispatcher: Dispatcher, stop: threading.Event,
             tick: float = 1.0, sweep_every: float = 5.0, unsent_after: float = 10.0) -> None:
    """Loop until `stop` is set."""
    last_sweep = 0.0
    log.info("beat_started fetch_interval=%s", settings.fetch_interval)
    while not stop.is_set():
        try:
            queue_due_fetches(settings, store, dispatcher)
            if time.monotonic() - last_sweep >= sweep_every:
                resend_lost(store, dispatcher, unsent_after)
                last_sweep = time.monotonic()
        except Exception:
            log.exception("beat_tick_failed")
        stop.wait(tick)
