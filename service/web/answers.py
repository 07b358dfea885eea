"""Answering with jobs: 202 with the job, or 200 once it ended (?wait); changes run on the worker."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from service.domain.records import Job, Repo
from service.domain.types import JobState
from service.web.context import services, wait_seconds
from service.web.errors import ApiError
from service.web.views import job_view

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
    # branches and upstreams as git refuses them
    "upstream_not_found": 404,
    "ref_conflict": 409,
    "ambiguous_start_point": 409,
    "ref_changed": 409,
    "name_too_long": 422,
}
CHANGE_WAIT = 30.0  # seconds a change answered once made (branch, upstream) waits without ?wait


def find_repo(name: str) -> Repo:
    repo = services().store.repos.by_name(name)
    if repo is None:
        raise repo_not_found(name)
    return repo


def repo_not_found(name: str) -> ApiError:
    return ApiError(404, "repo_not_found", f"no repo named {name[:200]!r}")


def answer_op(repo: Repo, kind: str, params: dict[str, Any], coalesce_key: str | None = None) -> ResponseReturnValue:
    """Queue an operation's job: 202 with it; with ?wait=N, 200 once it ended (202 if N ran out first)."""
    return answer(services().jobs.add(repo, kind, params, coalesce_key=coalesce_key, wait=wait_seconds()))


def answer(job: Job) -> ResponseReturnValue:
    """202 with the job; 200 if it has ended."""
    return jsonify({"job": job_view(job)}), 200 if job.finished else 202


def run_now(repo: Repo, kind: str, params: dict[str, Any]) -> Job:
    """Queue a change to the clone and wait for it (?wait seconds, else CHANGE_WAIT): the job,
    done or still queued or running (answer that 202 with answer()); a failed one is its error."""
    wait = wait_seconds()
    job = services().jobs.add(repo, kind, params, wait=CHANGE_WAIT if wait is None else wait)
    if job.state == JobState.FAILED:
        code = job.error_code or "failed"
        raise ApiError(_ERROR_STATUS.get(code, 502), code, job.error_message or "the change failed")
    return job
