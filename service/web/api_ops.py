"""Fetch, pull and push (each a job) and the jobs themselves."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.records import Job, Json, Repo
from service.domain.types import JobKind, JobState, PullStrategy, RepoState, Scope, fetch_coalesce_key
from service.domain.validation import check_ref_name, is_sha
from service.web.answers import answer, answer_op, find_repo, repo_not_found
from service.web.api_branches import known_remote, settled_refs
from service.web.auth import require, requires
from service.web.context import checked, field, json_body, services, wait_seconds
from service.web.errors import ApiError
from service.web.views import job_view

bp = Blueprint("ops", __name__)


def _snapshot_branch(repo: Repo, branch: str) -> Json | None:
    """The branch as last seen in the clone; None while the clone is not ready yet."""
    if repo.state != RepoState.READY:
        return None
    refs = services().store.repos.refs(repo.id)
    found = _named(refs, branch)
    if (found is None or not found.get("upstream")) and refs.get("pending"):
        found = _named(settled_refs(repo.id), branch)  # a job that just ended may have made it so
    if found is None:
        raise ApiError(404, "branch_not_found", f"no branch named {branch!r}")
    return found


def _named(refs: Json, branch: str) -> Json | None:
    return next((b for b in refs.get("branches", []) if b["name"] == branch), None)


@bp.post("/api/v1/repos/<path:name>/fetch")
@requires(Scope.WRITE)
def fetch(name: str) -> ResponseReturnValue:
    wait = wait_seconds()  # a bad ?wait is refused before any job is recorded
    return answer(queue_fetch(name, json_body(), wait))


def queue_fetch(name: str, body: Json, wait: float | None) -> Job:
    """Queue a fetch of the repo named `name` from a request's fields (the API's and the dashboard's)."""
    remote = field(body, "remote", str, None)
    prune = field(body, "prune", bool, True)
    params = {"remote": remote, "prune": prune}
    # Every queued fetch of this remote is the same work: join it rather than repeat it.
    if remote is None:  # of every remote, as bots and forges ask: the repo and the job in one round trip
        job = services().jobs.add_fetch_of(name, params, coalesce=prune, wait=wait)
        if job is None:
            raise repo_not_found(name)
        return job
    repo = find_repo(name)
    known_remote(repo, remote)
    key = fetch_coalesce_key(repo.id, remote) if prune else None
    return services().jobs.add(repo, JobKind.FETCH, params, coalesce_key=key, wait=wait)


@bp.post("/api/v1/repos/<path:name>/pull")
@requires(Scope.WRITE)
def pull(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    wait_seconds()  # a bad ?wait is refused before any job is recorded
    return answer_op(repo, JobKind.PULL, pull_params(repo, json_body()))


def pull_params(repo: Repo, body: Json) -> Json:
    """A pull job's parameters from a request's fields, checked (the API's and the dashboard's)."""
    branch = checked(check_ref_name, field(body, "branch", str))
    strategy = field(body, "strategy", str, None) or repo.pull_strategy or services().settings.pull_strategy
    if strategy not in {s.value for s in PullStrategy}:
        raise ApiError(422, "invalid", "strategy must be ff-or-merge, ff-only or rebase")
    dry_run = field(body, "dry_run", bool, False)
    known = _snapshot_branch(repo, branch)
    if known is not None and not known.get("upstream"):
        raise ApiError(409, "no_upstream", f"branch {branch!r} has no upstream; set one first")
    params: Json = {"branch": branch, "strategy": strategy}
    if dry_run:
        params["dry_run"] = True
    return params


@bp.post("/api/v1/repos/<path:name>/push")
@requires(Scope.WRITE)
def push(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    wait_seconds()  # a bad ?wait is refused before any job is recorded
    return answer_op(repo, JobKind.PUSH, push_params(repo, json_body()))


def push_params(repo: Repo, body: Json) -> Json:
    """A push job's parameters from a request's fields, checked (the API's and the dashboard's)."""
    branch = checked(check_ref_name, field(body, "branch", str))
    remote = field(body, "remote", str, None)
    if remote is not None:
        known_remote(repo, remote)
    remote_branch = field(body, "remote_branch", str, None)
    if remote_branch is not None:
        checked(check_ref_name, remote_branch, "remote branch")
    set_upstream = field(body, "set_upstream", bool, None)
    force = field(body, "force", bool, False)
    expect = expected_tip(body)
    dry_run = field(body, "dry_run", bool, False)
    if force and not dry_run:
        require(Scope.ADMIN)
    _snapshot_branch(repo, branch)
    return {"branch": branch, "remote": remote, "remote_branch": remote_branch,
            "set_upstream": set_upstream, "force": force, "expect": expect, "dry_run": dry_run}


def expected_tip(body: Json) -> str | None:
    """The body's `expect`: the full sha a person or bot saw the remote's branch at."""
    expect: str | None = field(body, "expect", str, None)
    if expect is not None and not (len(expect) in (40, 64) and is_sha(expect)):
        raise ApiError(422, "invalid", "expect must be a full commit sha (40 or 64 hex digits), as a push showed it")
    return expect


@bp.get("/api/v1/jobs/<job_id>")
@requires(Scope.READ)
def get_job(job_id: str) -> ResponseReturnValue:
    job = services().store.jobs.get(int(job_id)) if job_id.isascii() and job_id.isdigit() and len(job_id) < 19 else None
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id[:40]!r}")
    return jsonify(job_view(job))


@bp.get("/api/v1/jobs")
@requires(Scope.READ)
def list_jobs() -> ResponseReturnValue:
    args = request.args
    state, kind = args.get("state"), args.get("kind")
    if state is not None and state not in {s.value for s in JobState}:
        raise ApiError(400, "bad_query", "state must be queued, running, done or failed")
    if kind is not None and kind not in {k.value for k in JobKind}:
        raise ApiError(400, "bad_query", f"unknown job kind {kind[:40]!r}")
    raw_limit = args.get("limit", "50")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 500:
        raise ApiError(400, "bad_query", "limit must be a whole number from 1 to 500")
    found = services().store.jobs.latest(repo=args.get("repo"), state=state, kind=kind, limit=int(raw_limit))
    return jsonify({"jobs": [job_view(job) for job in found]})
