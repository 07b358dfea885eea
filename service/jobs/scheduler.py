"""The beat: queue auto-fetches when they are due and re-send jobs whose message was lost."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from service.domain.fetching import backing_off
from service.domain.types import JobKind, Trigger, fetch_coalesce_key, utcnow
from service.jobs.queue import JobQueue

log = logging.getLogger("gitferry.beat")


def queue_due_fetches(jobs: JobQueue) -> list[int]:
    """Queue a fetch of every remote for each repo whose interval has come round, leaving out
    the remotes that keep failing with a permanent error while they are backed off
    (domain.fetching); a repo whose every remote is backed off gets no fetch this turn."""
    now = utcnow()
    queued = []
    repos = jobs.store.repos
    due = repos.due_for_fetch(now, jobs.settings.fetch_interval)
    its_remotes = repos.remotes_of([repo.id for repo, _ in due]) if due else {}
    for repo, interval in due:
        if not repos.advance_schedule(repo, interval, now):
            continue  # another scheduler took this turn
        remotes = its_remotes.get(repo.id, [])
        skip = sorted(r.name for r in remotes if backing_off(r, now))
        if skip:
            log.info("fetch_backing_off repo=%s remotes=%s", repo.name, ",".join(skip))
            if len(skip) == len(remotes):
                continue
        params, key = scheduled_fetch(repo.id, skip)
        job = jobs.add(repo, JobKind.FETCH, params, trigger=Trigger.SCHEDULE, coalesce_key=key)
        queued.append(job.id)
    return queued


def scheduled_fetch(repo_id: int, skip: list[str]) -> tuple[dict[str, Any], str]:
    """A scheduled fetch's params and coalescing key. One that leaves remotes out has a key of
    its own (no remote's name has a ":"): an explicit fetch, which always tries every remote it
    names, must never join it."""
    key = fetch_coalesce_key(repo_id, None)
    if not skip:
        return {"remote": None, "prune": True}, key
    return {"remote": None, "prune": True, "skip": skip}, f"{key}:backing-off"


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
