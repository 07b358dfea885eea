"""Recording jobs, sending them, and answering with them (202, or 200 after ?wait)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from service.domain.types import JobState, Trigger
from service.store.jobs import job_view
from service.web.context import services, wait_for_job, wait_seconds
from service.web.errors import ApiError

Row = dict[str, Any]

# How the worker's error codes for synchronous changes reach the caller.
_ERROR_STATUS = {
    "branch_not_found": 404,
    "remote_not_found": 404,
    "start_point_not_found": 404,
    "not_found": 404,
    "branch_exists": 409,
    "remote_exists": 409,
    "no_upstream": 409,
    "invalid": 422,
    "repo_deleted": 404,
}


def find_repo(name: str) -> Row:
    repo = services().store.repos.by_name(name)
    if repo is None:
        raise repo_not_found(name)
    return repo


def repo_not_found(name: str) -> ApiError:
    return ApiError(404, "repo_not_found", f"no repo named {name[:200]!r}")


def enqueue(repo: Row, kind: str, params: dict[str, Any], *, trigger: str = Trigger.API,
            coalesce_key: str | None = None, wait: float | None = None) -> Row:
    """Record a job (joining a queued twin when coalescing) and send it; the row is committed
    first. With `wait` seconds, the row once the job ended (or the wait ran out)."""
    job, new = services().store.jobs.create(repo, kind, trigger, params, coalesce_key=coalesce_key)
    return send_recorded(job, new, wait)


def send_recorded(job: Row, new: bool, wait: float | None) -> Row:
    """Send a recorded job (unless it joined a queued twin, which is sent already); with `wait`
    seconds, the row once the job ended (or the wait ran out)."""
    svc = services()

    def send() -> None:
        svc.dispatcher.send(job["id"], job["repo_id"])

    if not wait:
        if new:
            send()
        return job
    return wait_for_job(job["id"], wait, send=send if new else None)


def answer_op(repo: Row, kind: str, params: dict[str, Any], coalesce_key: str | None = None) -> ResponseReturnValue:
    """Record and send an operation's job: 202 with it; with ?wait=N, 200 once it ended (202
    if N ran out first)."""
    return answer(enqueue(repo, kind, params, coalesce_key=coalesce_key, wait=wait_seconds()))


def answer(job: Row) -> ResponseReturnValue:
    """202 with the job; 200 if it has ended."""
    status = 200 if JobState(job["state"]).finished else 202
    return jsonify({"job": job_view(job)}), status


def run_now(repo: Row, kind: str, params: dict[str, Any], timeout: float = 30.0) -> Row:
    """Run a change to the clone on its worker and wait for the result; errors become answers."""
    job = enqueue(repo, kind, params, wait=timeout)
    if job["state"] == JobState.DONE:
        return job["result"]  # type: ignore[no-any-return]
    if job["state"] == JobState.FAILED:
        code = job["error_code"] or "failed"
        status = _ERROR_STATUS.get(code, 502)
        raise ApiError(status, code, job["error_message"] or "the change failed")
    raise ApiError(503, "busy", f"the clone is busy; the change is queued as job {job['id']}",
                   {"Retry-After": "5"})
