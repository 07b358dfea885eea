"""The commits behind the numbers: a ref's commits, and two refs compared, read from the clone.

The clone is on its shard's worker: each request is a read asked of that worker
(service/jobs/reads.py), not a job; no answer in time is a 503 with Retry-After.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.records import Repo
from service.domain.types import RepoState, Scope
from service.domain.validation import InvalidValue, check_ref_name, is_sha
from service.forges.registry import compare_url_for
from service.jobs import ReadUnanswered
from service.web.answers import find_repo
from service.web.api_branches import settled_refs
from service.web.auth import requires
from service.web.context import services
from service.web.errors import ApiError

bp = Blueprint("commits", __name__)
LIMIT = 50  # commits listed when the caller does not say
MAX_LIMIT = 500
# How the worker's codes for a read reach the caller; any other is a 502.
_ERROR_STATUS = {"ref_not_found": 404, "after_not_found": 422, "repo_not_ready": 409}


@bp.get("/api/v1/repos/<path:name>/commits")
@requires(Scope.READ)
def list_commits(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    after = request.args.get("after")
    if after is not None and not (is_sha(after) and len(after) in (40, 64)):
        raise ApiError(422, "invalid", "after must be the full sha of a commit listed before (next)")
    ref = ref_arg("ref", repo.default_branch)
    if ref is None:
        raise ApiError(422, "invalid", "give ref: the repo has no default branch")
    not_ = ref_arg("not")
    params = {"ref": recorded(repo, ref), "not": not_ and recorded(repo, not_), "limit": limit_arg(), "after": after}
    return jsonify(read(repo, "commits", params))


@bp.get("/api/v1/repos/<path:name>/compare/<path:spec>")
@requires(Scope.READ)
def compare(name: str, spec: str) -> ResponseReturnValue:
    repo = find_repo(name)
    base, dots, head = spec.partition("...")
    if not dots:
        raise ApiError(422, "invalid", "compare two refs as <base>...<head>, e.g. origin/main...main")
    return jsonify(compared(repo, base, head, limit_arg()))


def compared(repo: Repo, base: str, head: str, limit: int = LIMIT) -> dict[str, Any]:
    """base...head: the commits head has that base lacks (ahead) and the other way (behind), with
    the same comparison on the forge (web_url). The API's compare and the dashboard's both ask this."""
    params = {"base": recorded(repo, checked_ref(base, "base")), "head": recorded(repo, checked_ref(head, "head")),
              "limit": limit}
    answer = read(repo, "compare", params)
    return {**answer, "web_url": compare_web_url(repo, answer["base"], answer["head"])}


def ref_arg(name: str, default: str | None = None) -> str | None:
    value = request.args.get(name) or default
    return None if value is None else checked_ref(value, name)


def checked_ref(value: str, what: str) -> str:
    """A branch, `<remote>/<branch>`, tag or commit sha as git may be given it; else 422."""
    if is_sha(value):
        return value
    try:
        return check_ref_name(value, what)
    except InvalidValue as exc:
        raise ApiError(422, "invalid", str(exc)) from exc


def recorded(repo: Repo, ref: str) -> dict[str, Any] | str:
    """A local branch, else `<remote>/<branch>`, at the commit the refs snapshot recorded (the one
    behind the ahead/behind the branch listing shows); else the name, for the worker to resolve
    (a tag, a sha). Resolved here, the worker runs one git log, not a look-up of every ref first."""
    snapshot = settled_refs(repo.id)
    for branch in snapshot.get("branches", []):
        if branch["name"] == ref:
            return {"ref": ref, "kind": "branch", "sha": branch["sha"], "remote": None, "branch": ref}
    remote, _, name = ref.partition("/")
    for tracking in snapshot.get("remote_branches", []) if name else []:
        if (tracking["remote"], tracking["name"]) == (remote, name):
            return {"ref": ref, "kind": "remote_branch", "sha": tracking["sha"], "remote": remote, "branch": name}
    return ref


def limit_arg() -> int:
    raw = request.args.get("limit", str(LIMIT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(422, "invalid", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def read(repo: Repo, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The worker's answer to the read; its errors and its silence become answers. A read of
    commits named by sha alone (branches as the snapshot recorded them, full shas) always has the
    same answer: commits never change. Such answers are remembered, and asked of no worker again."""
    if repo.state != RepoState.READY:
        raise ApiError(409, "repo_not_ready", f"repo {repo.name!r} is {repo.state}; its history can be read once "
                       "it is ready")
    if all(isinstance(v, (dict, int)) or v is None or (isinstance(v, str) and len(v) in (40, 64) and is_sha(v))
           for v in params.values()):
        return _remembered(repo.id, kind, json.dumps(params, sort_keys=True))
    return _asked(repo.id, kind, params)


@functools.lru_cache(maxsize=256)
def _remembered(repo_id: int, kind: str, params: str) -> dict[str, Any]:
    return _asked(repo_id, kind, json.loads(params))  # (a failure raises, and is not remembered)


def _asked(repo_id: int, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = services().jobs.read(repo_id, kind, params)
    except ReadUnanswered:
        raise ApiError(503, "read_unanswered", "the worker holding this repo's clone did not answer in time; "
                       "try again", {"Retry-After": "2"}) from None
    if "error" in answer:
        code, message = answer["error"]["code"], answer["error"]["message"]
        raise ApiError(_ERROR_STATUS.get(code, 502), code, message)
    found: dict[str, Any] = answer["ok"]
    return found


def compare_web_url(repo: Repo, base: dict[str, Any], head: dict[str, Any]) -> str | None:
    """The same comparison on the forge: on the remote that the remote branches compared are
    on (origin when neither is one); None across two remotes, or off known forges."""
    named = {side["remote"] for side in (base, head) if side["remote"]}
    if len(named) > 1:
        return None
    remote = services().store.repos.remote(repo.id, named.pop() if named else "origin")
    if remote is None:
        return None
    return compare_url_for(remote.url, forge_side(base), forge_side(head), services().forge_hosts())


def forge_side(side: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a resolved ref as the forge names it."""
    if side["kind"] in ("branch", "remote_branch"):
        return "branch", side["branch"]
    if side["kind"] == "tag":
        return "tag", side["ref"]
    return "commit", side["sha"]
