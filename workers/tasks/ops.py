"""What each kind of job does to a clone: plain functions over the git engine."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.domain.rules import rules_to_run
from service.domain.types import JobKind, RepoState, Trigger, sync_coalesce_key
from service.domain.validation import redact_url
from service.store.tables import utcnow
from workers.git import Clone, GitError, ProgressCallback
from workers.tasks.context import WorkerContext

log = logging.getLogger("gitferry.worker")
Row = dict[str, Any]
Op = Callable[[WorkerContext, Row, Clone, Row, ProgressCallback], dict[str, Any]]


def prepare(ctx: WorkerContext, repo: Row, clone: Clone, progress: ProgressCallback) -> None:
    """Start from a known state: a healthy clone with exactly the remotes the database has."""
    if clone.exists():
        _clear_stale_locks(clone.path)
        # Only a cheap look here; corruption that git itself reports makes the job re-clone
        # and run again (see run.py), so healthy clones pay for no deep check.
        if not clone.looks_intact():
            move_aside(repo, clone)
    if not clone.exists():
        default = clone.create(repo["url"], progress)
        ctx.store.repos.update(repo["id"], default_branch=default, last_fetch_at=utcnow())
    wanted = {r["name"]: r["url"] for r in repo["remotes"]}  # read when the job was claimed
    present = clone.remotes()
    for name, url in wanted.items():
        if name not in present:
            clone.add_remote(name, url)
        elif present[name] != url:
            clone.set_remote_url(name, url)
    for name in present.keys() - wanted.keys():
        clone.remove_remote(name)


def move_aside(repo: Row, clone: Clone) -> None:
    moved = clone.move_aside()
    clone.forget()
    log.warning("clone_corrupt repo=%s moved_to=%s", repo["name"], moved.name)


def _clear_stale_locks(path: Path) -> None:
    # We hold the clone lock, so any git lock file here was left by a killed job.
    candidates = [p for p in path.glob("*.lock")]
    for root, _dirs, files in os.walk(path / "refs"):
        candidates += [Path(root, f) for f in files if f.endswith(".lock")]
    for lock in candidates:
        log.warning("stale_lock_removed path=%s", lock.relative_to(path))
        lock.unlink(missing_ok=True)


def do_clone(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    if repo["state"] != RepoState.READY and clone.exists():
        # A clone job that did not finish (its worker died) left a partial clone: start again.
        clone.remove()
    try:
        prepare(ctx, repo, clone, progress)
    except GitError as exc:
        ctx.store.repos.update(repo["id"], state=RepoState.ERROR.value, error=exc.message)
        raise
    default = clone.default_branch("origin") or repo["default_branch"]
    ctx.store.repos.update(repo["id"], default_branch=default)
    return {"default_branch": default, "url": redact_url(repo["url"])}


def do_fetch(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    prepare(ctx, repo, clone, progress)
    wanted = job["params"].get("remote")
    names = [wanted] if wanted else sorted(clone.remotes())
    if wanted and wanted not in clone.remotes():
        raise GitError("remote_not_found", f"remote {wanted!r} does not exist")
    return {"remotes": fetch_remotes(ctx, repo, clone, names, progress,
                                     prune=job["params"].get("prune", True))}


def fetch_remotes(ctx: WorkerContext, repo: Row, clone: Clone, names: list[str],
                  progress: ProgressCallback, prune: bool = True) -> dict[str, Any]:
    """Fetch each remote; a remote that fails does not stop the others, but fails the job."""
    results: dict[str, Any] = {}
    failed: GitError | None = None
    for name in names:
        started = time.monotonic()
        try:
            fetched = clone.fetch(name, prune=prune, progress=progress)
        except GitError as exc:
            if exc.code == "corrupt":
                raise  # the clone's fault, not the remote's: the job re-clones and runs again
            failed = failed or exc
            results[name] = {"error": {"code": exc.code, "message": exc.message}}
            continue
        results[name] = {"updated": fetched.updated, "deleted": fetched.deleted}
        queue_rule_syncs(ctx, repo, name, results[name])
        log.info("fetch_done repo=%s remote=%s updated=%d deleted=%d ms=%d", repo["name"], name,
                 len(fetched.updated), len(fetched.deleted), (time.monotonic() - started) * 1000)
    repo["fetched_at"] = utcnow()  # recorded with the job's outcome
    if failed:
        raise PartialFailure(failed, {"remotes": results})
    return results


def queue_rule_syncs(ctx: WorkerContext, repo: Row, remote: str, fetched: dict[str, Any]) -> list[int]:
    """Queue a sync job for each rule watching a branch this fetch moved."""
    queued = []
    for rule in rules_to_run(repo["rules"], remote, fetched):
        params = {key: rule[key] for key in
                  ("remote", "branch", "local_branch", "strategy", "push_to", "allow_force")}
        params["rule"] = rule["name"]
        params["strategy"] = rule["strategy"] or repo["pull_strategy"] or ctx.settings.pull_strategy
        job, new = ctx.store.jobs.create(repo, JobKind.SYNC, Trigger.RULE, params,
                                         coalesce_key=sync_coalesce_key(repo["id"], rule["name"]))
        if new:
            ctx.dispatcher.send(job["id"], job["repo_id"])
            queued.append(job["id"])
    return queued


class PartialFailure(Exception):
    """Some of the work was done (its result is kept) but the job failed."""

    def __init__(self, error: GitError, result: dict[str, Any]):
        super().__init__(error.message)
        self.error = error
        self.result = result


def do_pull(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    prepare(ctx, repo, clone, progress)
    params = job["params"]
    branch = clone.branch(params["branch"])
    if not branch.upstream:
        raise GitError("no_upstream", f"branch {branch.name!r} has no upstream")
    remote = branch.upstream.split("/", 1)[0]
    fetch_remotes(ctx, repo, clone, [remote], progress)
    return clone.pull(branch.name, params["strategy"]).to_dict()


def do_push(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    prepare(ctx, repo, clone, progress)
    p = job["params"]
    result = clone.push(
        p["branch"], remote=p.get("remote"), remote_branch=p.get("remote_branch"),
        set_upstream=p.get("set_upstream"), force=bool(p.get("force")),
        protected=repo["protected_branches"] or (),
    )
    return result.to_dict()


def do_sync(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    """Update the rule's local branch from the remote branch as fetched, then push it on."""
    prepare(ctx, repo, clone, progress)
    p = job["params"]
    pulled = clone.update_branch(p["local_branch"], p["remote"], p["branch"], p["strategy"])
    pushed = None
    if p.get("push_to") and pulled.outcome not in ("conflict", "diverged"):
        # The push updates refs/remotes/<push_to>/* itself, so the fetch that a forge's webhook
        # for this push causes finds nothing moved and sets off no rule again.
        pushed = clone.push(p["local_branch"], remote=p["push_to"], remote_branch=p["local_branch"],
                            set_upstream=False, force=bool(p.get("allow_force")),
                            protected=repo["protected_branches"] or ()).to_dict()
    return {"pull": pulled.to_dict(), "push": pushed}


def do_branch(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    prepare(ctx, repo, clone, progress)
    p = job["params"]
    created = clone.create_branch(p["name"], p["start_point"], track=p.get("track", True))
    return {"branch": created.to_dict()}


def do_upstream(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    prepare(ctx, repo, clone, progress)
    p = job["params"]
    if p.get("unset"):
        clone.branch(p["branch"])  # unknown branch -> branch_not_found
        clone.unset_upstream(p["branch"])
        return {"branch": clone.branch(p["branch"]).to_dict()}
    return {"branch": clone.set_upstream(p["branch"], p["remote"], p["remote_branch"]).to_dict()}


def do_remote(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    prepare(ctx, repo, clone, progress)
    return {"remotes": sorted(clone.remotes())}


def do_remove(ctx: WorkerContext, repo: Row, clone: Clone, job: Row, progress: ProgressCallback) -> dict[str, Any]:
    clone.remove()
    return {"removed": True}


OPS: dict[str, Op] = {
    JobKind.CLONE: do_clone,
    JobKind.FETCH: do_fetch,
    JobKind.PULL: do_pull,
    JobKind.PUSH: do_push,
    JobKind.SYNC: do_sync,
    JobKind.BRANCH: do_branch,
    JobKind.UPSTREAM: do_upstream,
    JobKind.REMOTE: do_remote,
    JobKind.REMOVE: do_remove,
}
