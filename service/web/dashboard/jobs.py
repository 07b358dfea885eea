"""The jobs view, for every repo or one, kept live by Server-Sent Events (htmx polling without them).

A stream holds a web thread, so it is short (the browser reconnects) and few run at once per
process; a browser turned away falls back to polling.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

from flask import Response, request, stream_with_context
from flask.typing import ResponseReturnValue

from service.domain.records import Job, Repo
from service.domain.types import utcnow
from service.web.context import services
from service.web.dashboard.web import bp, render
from service.web.errors import ApiError

LIMIT = 50  # jobs shown
STREAM_SECONDS = 25.0  # then the browser reconnects
LOOK_EVERY = 0.5  # seconds between looks at the jobs
STREAMS = threading.BoundedSemaphore(4)  # per web process; the web has 16 threads
# A dry run's outcome (a pull's or a push's), as what would happen.
WOULD = {"up-to-date": "nothing to do", "fast-forwarded": "would fast-forward", "merged": "would merge",
         "rebased": "would rebase", "diverged": "would be refused (diverged)", "conflict": "would conflict",
         "fast-forward": "would fast-forward", "create": "would create", "force": "would force",
         "rejected": "would be rejected"}
# Who or what started a job with no token's name, by its trigger.
TRIGGERED_BY = {"api": "a person or a bot (API)", "webhook": "a forge webhook", "schedule": "the auto-fetch schedule",
                "rule": "a sync rule"}
# Outcomes of a job that ended without doing what was asked (nothing changed), in a few words.
REFUSED = {"diverged": "not pulled, nothing changed", "conflict": "nothing changed", "rejected": "not pushed"}


def _jobs(repo: str | None, limit: int = LIMIT) -> list[Job]:
    return services().store.jobs.latest(repo=repo, limit=limit)


def duration(job: Job) -> str:
    if job.started_at is None:
        return ""
    seconds = ((job.finished_at or utcnow()) - job.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def started_by(job: Job) -> str:
    """Who or what started a job: the token whose request queued it, else what its trigger says."""
    if job.started_by:
        return f"{job.started_by} (token)"
    return TRIGGERED_BY.get(job.trigger, job.trigger)


def outcome(job: Job) -> str:
    """A finished job's outcome in a line; its whole result shows when opened."""
    if job.error_code:
        return f"{job.error_code}: {job.error_message or ''}"
    if not job.finished:
        return ""
    result = job.result or {}
    if result.get("dry_run") and isinstance(result.get("outcome"), str):
        return f"dry run: {WOULD.get(result['outcome'], result['outcome'])}"
    if result.get("outcome") in REFUSED:  # what a person must do something about, said so
        return f"{result['outcome']}: {result.get('reason') or REFUSED[result['outcome']]}"
    for key in ("outcome", "summary", "status"):
        if isinstance(result.get(key), str):
            return str(result[key])
    if isinstance(result.get("remotes"), dict):
        return _fetched(result["remotes"])
    return {"clone": "cloned"}.get(job.kind, "done")


def _fetched(remotes: dict[str, object]) -> str:
    """A fetch's outcome: how many remote branches it moved and removed."""
    moved = removed = 0
    for remote in remotes.values():
        if isinstance(remote, dict):
            moved += len(remote.get("updated") or [])
            removed += len(remote.get("deleted") or [])
    if not moved and not removed:
        return "nothing new"
    parts = [f"{moved} branch{'es' if moved != 1 else ''} updated"] if moved else []
    parts += [f"{removed} removed"] if removed else []
    return ", ".join(parts)


def pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _repo_arg() -> str | None:
    repo = request.args.get("repo", "").strip()
    return repo[:300] or None


@bp.get("/dashboard/jobs")
def jobs() -> ResponseReturnValue:
    repo = _repo_arg()
    return render("jobs.html", **job_values(repo))


@bp.get("/dashboard/jobs/table")
def jobs_table() -> ResponseReturnValue:
    repo = _repo_arg()
    return render("_jobs_table.html", **job_values(repo))


def job_values(repo: str | None, limit: int = LIMIT) -> dict[str, object]:
    """What the jobs table shows: of `repo` (None: of all repos)."""
    return {"jobs_repo": repo, "jobs": _jobs(repo, limit), "duration": duration, "outcome": outcome,
            "pretty": pretty, "started_by": started_by}


def shown_job(repo: Repo, asked: str | None) -> Job | None:
    """The job a repo's page was asked to show (?job=<id>, where a pull's form leads): of this repo."""
    if asked is None:
        return None
    job = services().store.jobs.get(int(asked)) if asked.isascii() and asked.isdigit() and len(asked) < 12 else None
    if job is None or job.repo_id != repo.id:
        raise ApiError(404, "not_found", f"{repo.name} has no job {asked[:20]}")
    return job


def fingerprint(found: list[Job]) -> str:
    return json.dumps([[j.id, j.state, j.progress, j.attempts] for j in found], default=str)


@bp.get("/dashboard/jobs/stream")
def stream() -> ResponseReturnValue:
    """`event: jobs` whenever the jobs shown change; ends after STREAM_SECONDS."""
    if not STREAMS.acquire(blocking=False):
        return Response(status=204)  # EventSource gives up on a 204: the page polls instead
    repo = _repo_arg()

    def events() -> Iterator[str]:
        try:
            # First, what changed while the page loaded: a job may have ended before the stream began.
            seen = fingerprint(_jobs(repo))
            yield "retry: 1000\n\nevent: jobs\ndata: changed\n\n"
            deadline = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < deadline:
                time.sleep(LOOK_EVERY)
                now = fingerprint(_jobs(repo))
                if now != seen:
                    seen = now
                    yield "event: jobs\ndata: changed\n\n"
                else:
                    yield ": still here\n\n"
        finally:
            STREAMS.release()

    return Response(stream_with_context(events()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
