"""The beat: queue auto-fetches when they are due and re-send jobs whose message was lost."""

from __future__ import annotations

import logging
import threading
import time

from service.domain.types import JobKind, Trigger, fetch_coalesce_key, utcnow
from service.jobs.queue import JobQueue

log = logging.getLogger("gitferry.beat")


def queue_due_fetches(jobs: JobQueue) -> list[int]:
    """Queue a fetch of every remote for each repo whose interval has come round."""
    now = utcnow()
    queued = []
    repos = jobs.store.repos
    for repo, interval in repos.due_for_fetch(now, jobs.settings.fetch_interval):
        if not repos.advance_schedule(repo, interval, now):
            continue  # another scheduler took this turn
        job = jobs.add(repo, JobKind.FETCH, {"remote": None, "prune": True}, trigger=Trigger.SCHEDULE,
                       coalesce_key=fetch_coalesce_key(repo.id, None))
        queued.append(job.id)
    return queued


def resend_lost(jobs: JobQueue, unsent_after: float) -> list[int]:
    """Re-send queued jobs whose message never arrived and jobs whose worker died."""
    lost = jobs.store.jobs.needing_send(utcnow(), unsent_after)
    for job_id, repo_id in lost:
        log.info("job_resent job=%s", job_id)
        jobs.send(job_id, repo_id, resend=True)
    return [job_id for job_id, _ in lost]


def run_beat(jobs: JobQueue, stop: threading.Event, tick: float = 1.0, sweep_every: float = 5.0,
             unsent_after: float = 10.0) -> None:
    """Loop until `stop` is set."""
    last_sweep = 0.0
    log.info("beat_started fetch_interval=%s", jobs.settings.fetch_interval)
    while not stop.is_set():
        try:
            queue_due_fetches(jobs)
            if time.monotonic() - last_sweep >= sweep_every:
                resend_lost(jobs, unsent_after)
                last_sweep = time.monotonic()
        except Exception:
            log.exception("beat_tick_failed")
        stop.wait(tick)
