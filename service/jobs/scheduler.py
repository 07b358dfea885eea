"""The beat: queue auto-fetches when they are due and re-send jobs whose message was lost."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

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


def resend_lost(jobs: JobQueue, now: datetime | None = None) -> list[int]:
    """Re-send queued jobs whose message may be lost and jobs whose worker died: each at most
    once a lease, and less often the longer it waits (JobStore.needing_send). The ids sent."""
    now = now or utcnow()
    lease = jobs.settings.job_lease
    sent = [job_id for job_id, repo_id in jobs.store.jobs.needing_send(now, lease)
            if jobs.send(job_id, repo_id, resend=True)]
    if sent:
        log.info("jobs_resent jobs=%s", ",".join(map(str, sent)))
        jobs.store.jobs.mark_resent(sent, now, lease)
    return sent


def run_beat(jobs: JobQueue, stop: threading.Event, tick: float = 1.0, sweep_every: float = 5.0) -> None:
    """Loop until `stop` is set."""
    last_sweep = 0.0
    log.info("beat_started fetch_interval=%s", jobs.settings.fetch_interval)
    while not stop.is_set():
        try:
            queue_due_fetches(jobs)
            if time.monotonic() - last_sweep >= sweep_every:
                resend_lost(jobs)
                last_sweep = time.monotonic()
        except Exception:
            log.exception("beat_tick_failed")
        stop.wait(tick)
