"""Repos and their remotes."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.records import Job, Json, Remote, Repo
from service.domain.types import JobKind, PullStrategy, Scope, fetch_coalesce_key
from service.domain.validation import (
    check_globs,
    check_notify_url,
    check_remote_name,
    check_repo_name,
    check_url,
    redact_url,
)
from service.store import NameTaken, SecretKeyMissing
from service.web.answers import CHANGE_WAIT, answer, find_repo
from service.web.auth import require, requires
from service.web.context import checked, field, json_body, services, wait_seconds
from service.web.errors import ApiError
from service.web.forks import fork_remote, forks_of
from service.web.views import job_view, remote_view, repo_view

bp = Blueprint("repos", __name__)
STRATEGIES = [s.value for s in PullStrategy]


def _repo_view(repo: Repo, remotes: list[Remote]) -> Json:
    svc = services()
    return repo_view(repo, remotes, svc.provider(), pull_strategy=svc.settings.pull_strategy,
                     fetch_interval=svc.settings.fetch_interval, admin=require(Scope.READ) == Scope.ADMIN,
                     web_url=svc.web_url())


def _strategy(body: Json) -> str | None:
    value: str | None = field(body, "pull_strategy", str, None)
    if value is not None and value not in STRATEGIES:
        raise ApiError(422, "invalid", f"pull_strategy must be one of {', '.join(STRATEGIES)}")
    return value


def _interval(body: Json) -> int | None:
    value: int | None = field(body, "fetch_interval", int, None)
    if value is not None and not 0 <= value <= 7 * 24 * 3600:
        raise ApiError(422, "invalid", "fetch_interval must be between 0 (off) and 604800 seconds")
    return value


@bp.post("/api/v1/repos")
@requires(Scope.ADMIN)
def create_repo() -> ResponseReturnValue:
    wait = wait_seconds()  # a bad ?wait is refused before anything is recorded
    repo, job = create_repo_from(json_body(), wait)
    view = _repo_view(repo, services().store.repos.remotes(repo.id))
    view["job"] = job_view(job)
    return jsonify(view), 201


def create_repo_from(body: Json, wait: float | None = None) -> tuple[Repo, Job]:
    """Record a repo from a request's fields and queue its clone (the API's and the dashboard's);
    with `wait`, the repo as the clone left it if it ended in time."""
    name = checked(check_repo_name, field(body, "name", str))
    url = field(body, "url", str)
    checked(check_url, url, allow_local=services().settings.allow_local_remotes)
    strategy, interval = _strategy(body), _interval(body)
    protected = checked(check_globs, field(body, "protected_branches", list, []))
    store = services().store
    try:
        repo = store.repos.create(name, url, pull_strategy=strategy, fetch_interval=interval,
                                  protected_branches=protected)
    except NameTaken:
        raise ApiError(409, "repo_exists", f"a repo named {name!r} exists already") from None
    job = services().jobs.add(repo, JobKind.CLONE, {"url": redact_url(url)}, wait=wait)
    if job.finished:  # waited for: the repo as the clone left it (ready, its default branch)
        repo = store.repos.by_name(name) or repo
    return repo, job


@bp.get("/api/v1/repos")
@requires(Scope.READ)
def list_repos() -> ResponseReturnValue:
    store = services().store
    repos = store.repos.all()
    remotes = store.repos.remotes_of([r.id for r in repos])
    return jsonify({"repos": [_repo_view(r, remotes[r.id]) for r in repos]})


@bp.get("/api/v1/repos/<path:name>")
@requires(Scope.READ)
def get_repo(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    return jsonify(_repo_view(repo, services().store.repos.remotes(repo.id)))


@bp.patch("/api/v1/repos/<path:name>")
@requires(Scope.ADMIN)
def patch_repo(name: str) -> ResponseReturnValue:
    change_repo(find_repo(name), json_body())
    repo = find_repo(name)
    return jsonify(_repo_view(repo, services().store.repos.remotes(repo.id)))


def change_repo(repo: Repo, body: Json) -> None:
    """Change a repo's settings from a request's fields (the API's and the dashboard's)."""
    known = {"pull_strategy", "fetch_interval", "protected_branches", "notify_url", "notify_secret"}
    unknown = set(body) - known
    if unknown:
        raise ApiError(400, "bad_field", f"cannot change {', '.join(sorted(unknown))}")
    changes: Json = {}
    if "pull_strategy" in body:
        changes["pull_strategy"] = _strategy(body)
    if "fetch_interval" in body:
        changes["fetch_interval"] = _interval(body)
        changes["next_fetch_at"] = None  # re-spread on the new interval
    if "protected_branches" in body:
        changes["protected_branches"] = checked(check_globs, field(body, "protected_branches", list))
    if "notify_url" in body:
        url = field(body, "notify_url", str, None)
        allow_local = services().settings.allow_local_remotes
        changes["notify_url"] = None if url is None else checked(check_notify_url, url, allow_local=allow_local)
    if "notify_secret" in body:
        changes["notify_secret"] = field(body, "notify_secret", str, None) or None
    store = services().store
    if changes:
        try:
            store.repos.update(repo.id, **changes)
        except SecretKeyMissing as exc:
            raise ApiError(422, "secret_key_missing", f"{exc} (the key that encrypts secrets at rest)") from None


@bp.delete("/api/v1/repos/<path:name>")
@requires(Scope.ADMIN)
def delete_repo(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    store = services().store
    store.jobs.fail_queued(repo.id, "repo_deleted", "the repo was deleted")
    store.repos.delete(repo.id)
    # The worker removes the clone once the job holding its lock (if any) has finished.
    services().jobs.add(repo, JobKind.REMOVE, {})
    return "", 204


@bp.get("/api/v1/repos/<path:name>/remotes")
@requires(Scope.READ)
def list_remotes(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    svc = services()
    provider, web_url = svc.provider(), svc.web_url()
    return jsonify({"remotes": [remote_view(r, provider, web_url) for r in svc.store.repos.remotes(repo.id)]})


@bp.post("/api/v1/repos/<path:name>/remotes")
@requires(Scope.ADMIN)
def add_remote(name: str) -> ResponseReturnValue:
    wait = wait_seconds()
    remote, job = add_remote_from(find_repo(name), json_body(), wait)
    view = remote_view(remote, services().provider(), services().web_url())
    view["job"] = job_view(job)
    return jsonify(view), 201


def add_remote_from(repo: Repo, body: Json, wait: float | None = None) -> tuple[Remote, Job]:
    """Add a remote from a request's fields and queue its first fetch (the API's and the dashboard's)."""
    if body.get("fork") is not None:
        if "url" in body:
            raise ApiError(400, "bad_field", "give either url or fork, not both")
        given = field(body, "name", str, None)
        if given is not None:
            checked(check_remote_name, given)
        # The URL comes from the forge's own list, never from the request.
        default_name, url = fork_remote(repo, field(body, "fork", str))
        remote_name = checked(check_remote_name, given or default_name)
    else:
        remote_name = checked(check_remote_name, field(body, "name", str))
        url = field(body, "url", str)
    checked(check_url, url, allow_local=services().settings.allow_local_remotes)
    try:
        remote = services().store.repos.add_remote(repo.id, remote_name, url)
    except NameTaken:
        raise ApiError(409, "remote_exists", f"remote {remote_name!r} exists already") from None
    # Like a desktop client, fetch a remote as soon as it is added (?wait: answer once fetched).
    job = services().jobs.add(repo, JobKind.FETCH, {"remote": remote_name, "prune": True},
                              coalesce_key=fetch_coalesce_key(repo.id, remote_name), wait=wait)
    return remote, job


@bp.delete("/api/v1/repos/<path:name>/remotes/<remote>")
@requires(Scope.ADMIN)
def delete_remote(name: str, remote: str) -> ResponseReturnValue:
    """204 once the clone has dropped the remote and its remote branches; 202 with that job if
    the wait (?wait, else CHANGE_WAIT) ran out first."""
    repo = find_repo(name)
    wait = wait_seconds()
    job = remove_remote(repo, remote, CHANGE_WAIT if wait is None else wait)
    return ("", 204) if job.finished else answer(job)


def remove_remote(repo: Repo, remote: str, wait: float | None = None) -> Job:
    """Remove a remote of a repo, and from its clone (the API's and the dashboard's)."""
    store = services().store
    if store.repos.remote(repo.id, remote) is None:
        raise ApiError(404, "remote_not_found", f"no remote named {remote[:100]!r}")
    if remote == "origin":
        raise ApiError(409, "origin_required", "origin is the repo's own URL and cannot be removed")
    store.repos.remove_remote(repo.id, remote)
    return services().jobs.add(repo, JobKind.REMOTE, {"removed": remote}, wait=wait)


@bp.get("/api/v1/repos/<path:name>/forks")
@requires(Scope.READ)
def list_forks(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    refresh = request.args.get("refresh", "").lower() in ("1", "true", "yes")
    _, forks = forks_of(repo, refresh=refresh)
    return jsonify({"forks": [f.to_dict() for f in forks]})

