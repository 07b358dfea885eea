"""Branches with ahead/behind (from the last snapshot of the clone) and their upstreams."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.records import Job, Json, Repo
from service.domain.types import JobKind, Scope
from service.domain.validation import check_ref_name, check_remote_name, check_start_point
from service.web.answers import answer, find_repo, run_now
from service.web.auth import requires
from service.web.context import checked, field, json_body, services
from service.web.errors import ApiError

bp = Blueprint("branches", __name__)
PENDING_WAIT = 2.0  # seconds; past it (a worker died in between) the listing shows ahead/behind as null


def known_remote(repo: Repo, name: str) -> str:
    checked(check_remote_name, name)
    if services().store.repos.remote(repo.id, name) is None:
        raise ApiError(404, "remote_not_found", f"no remote named {name!r}")
    return name


def new_branch_name(repo: Repo, name: object) -> str:
    """A name for a local branch to be made: valid, and not `<remote>/<branch>` of a remote of the
    repo, which git would read as that local branch instead of the remote's."""
    branch: str = checked(check_ref_name, name)
    first = branch.split("/", 1)[0]
    if "/" in branch and services().store.repos.remote(repo.id, first) is not None:
        raise ApiError(422, "invalid", f"a local branch {branch!r} would hide remote {first!r}'s branch of that "
                       "name; choose another name")
    return branch


@bp.get("/api/v1/repos/<path:name>/branches")
@requires(Scope.READ)
def list_branches(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    snapshot = settled_refs(repo.id)
    branches = snapshot.get("branches", [])
    if branches and "gone" not in branches[0]:  # recorded before branches had it
        branches = [{**b, "gone": False} for b in branches]
    return jsonify({"branches": branches, "remote_branches": snapshot.get("remote_branches", [])})


def settled_refs(repo_id: int) -> Json:
    """The refs as last recorded. A job answers before it has recorded the refs it changed,
    with their ahead/behind (the refs are `pending` for those few milliseconds): wait for them,
    so that a listing after a fetch shows what the fetch did."""
    store = services().store.repos
    deadline = time.monotonic() + PENDING_WAIT
    snapshot = store.refs(repo_id)
    while snapshot.get("pending") and time.monotonic() < deadline:
        time.sleep(0.005)
        snapshot = store.refs(repo_id)
    return snapshot


@bp.get("/api/v1/repos/<path:name>/tags")
@requires(Scope.READ)
def list_tags(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    return jsonify({"tags": settled_refs(repo.id).get("tags", [])})


@bp.post("/api/v1/repos/<path:name>/branches")
@requires(Scope.WRITE)
def create_branch(name: str) -> ResponseReturnValue:
    """201 with the branch once made; 202 with its job if the clone is busy past the wait."""
    repo = find_repo(name)
    body = json_body()
    branch = new_branch_name(repo, field(body, "name", str))
    start = checked(check_start_point, field(body, "start_point", str))
    track = field(body, "track", bool, True)
    job = run_now(repo, JobKind.BRANCH, {"name": branch, "start_point": start, "track": track})
    if not job.finished:
        return answer(job)
    return jsonify((job.result or {})["branch"]), 201


@bp.put("/api/v1/repos/<path:name>/branches/<path:branch>/upstream")
@requires(Scope.WRITE)
def set_upstream(name: str, branch: str) -> ResponseReturnValue:
    job = set_upstream_of(find_repo(name), branch, json_body())
    return jsonify((job.result or {})["branch"]) if job.finished else answer(job)


def set_upstream_of(repo: Repo, branch: str, body: Json) -> Job:
    """Set a branch's upstream from a request's fields: its job, ended unless the wait ran out
    (the API's and the dashboard's)."""
    checked(check_ref_name, branch)
    remote = known_remote(repo, field(body, "remote", str))
    remote_branch = checked(check_ref_name, field(body, "branch", str))
    return run_now(repo, JobKind.UPSTREAM, {"branch": branch, "remote": remote, "remote_branch": remote_branch})


@bp.delete("/api/v1/repos/<path:name>/branches/<path:branch>/upstream")
@requires(Scope.WRITE)
def unset_upstream(name: str, branch: str) -> ResponseReturnValue:
    job = unset_upstream_of(find_repo(name), branch)
    return ("", 204) if job.finished else answer(job)


def unset_upstream_of(repo: Repo, branch: str) -> Job:
    """Unset a branch's upstream: its job, ended unless the wait ran out (the API's and the dashboard's)."""
    checked(check_ref_name, branch)
    return run_now(repo, JobKind.UPSTREAM, {"branch": branch, "unset": True})
