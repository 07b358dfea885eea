"""What each kind of job does to a clone: plain functions over the git engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.records import JobStart, RemoteFetch, Repo
from service.domain.rules import rules_to_run
from service.domain.types import JobKind, RepoState, Trigger, sync_coalesce_key, utcnow
from service.domain.validation import redact_url
from workers.git import BackupRef, Clone, FetchResult, GitError, ProgressCallback
from workers.tasks.backups import record_made
from workers.tasks.context import WorkerContext
from workers.tasks.lock import lock_file

log = logging.getLogger("gitferry.worker")
Result = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a job did: its result, and when it fetched the repo's remotes if it did."""

    result: Result
    fetched_at: datetime | None = None
    remote_fetches: tuple[RemoteFetch, ...] = ()  # each remote fetched, and how it went


class PartialFailure(Exception):
    """Some of the work was done (its outcome is kept) but the job failed."""

    def __init__(self, error: GitError, outcome: Outcome):
        super().__init__(error.message)
        self.error = error
        self.outcome = outcome


Op = Callable[[WorkerContext, JobStart, Clone, ProgressCallback], Outcome]


def repo_of(start: JobStart) -> Repo:
    if start.repo is None:
        raise GitError("repo_deleted", "the repo was deleted")
    return start.repo


def prepare(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Repo:
    """Start from a known state: a healthy clone with exactly the remotes the database has."""
    repo = repo_of(start)
    # Only a cheap look here; corruption that git itself reports makes the job re-clone and run
    # again (see run.py), so healthy clones pay for no deep check.
    if clone.exists() and not clone.looks_intact():
        move_aside(repo.name, clone)
    if not clone.exists():
        default = clone.create(repo.url, progress)
        ctx.store.repos.update(repo.id, default_branch=default, last_fetch_at=utcnow())
    wanted = {r.name: r.url for r in start.remotes}  # read when the job was claimed
    present = clone.remotes()
    for name, url in wanted.items():
        if name not in present:
            clone.add_remote(name, url)
        elif present[name] != url:
            clone.set_remote_url(name, url)
    for name in present.keys() - wanted.keys():
        clone.remove_remote(name)
    return repo


def move_aside(repo_name: str, clone: Clone) -> None:
    moved = clone.move_aside()
    clone.forget()
    log.warning("clone_corrupt repo=%s moved_to=%s", repo_name, moved.name)


def do_clone(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    repo = repo_of(start)
    if repo.state != RepoState.READY and clone.exists():
        # A clone job that did not finish (its worker died) left a partial clone: start again.
        clone.remove()
    try:
        prepare(ctx, start, clone, progress)
    except GitError as exc:
        ctx.store.repos.update(repo.id, state=RepoState.ERROR.value, error=exc.message)
        raise
    default = clone.default_branch("origin") or clone.head_branch()
    ctx.store.repos.update(repo.id, default_branch=default)
    return Outcome({"default_branch": default, "url": redact_url(repo.url)},
                   remote_fetches=(RemoteFetch("origin", utcnow()),))  # the clone fetched it


def do_fetch(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    prepare(ctx, start, clone, progress)
    params = start.job.params
    wanted = params.get("remote")
    if wanted and wanted not in clone.remotes():
        raise GitError("remote_not_found", f"remote {wanted!r} does not exist")
    # A scheduled fetch leaves out the remotes the scheduler found backing off (scheduler.py).
    skip = set(params.get("skip") or ())
    names = [wanted] if wanted else sorted(name for name in clone.remotes() if name not in skip)
    return fetch_remotes(ctx, start, clone, names, progress, prune=params.get("prune", True))


def fetch_remotes(ctx: WorkerContext, start: JobStart, clone: Clone, names: list[str],
                  progress: ProgressCallback, prune: bool = True) -> Outcome:
    """Fetch each remote; a remote that fails does not stop the others, but fails the job. The
    result is {"remotes": {name: what moved, or its error}}; the repo counts as fetched when a
    remote was."""
    repo = repo_of(start)
    results: Result = {}
    tried: list[RemoteFetch] = []
    failed: GitError | None = None
    for name in names:
        began = time.monotonic()
        try:
            fetched = clone.fetch(name, prune=prune, progress=progress)
        except GitError as exc:
            if exc.code == "corrupt":
                raise  # the clone's fault, not the remote's: the job re-clones and runs again
            results[name] = {"error": {"code": exc.code, "message": exc.message}}
            tried.append(RemoteFetch(name, utcnow(), exc.code, exc.message))
            if exc.code == "job_timeout":  # no time for the others either: the job fails for this
                raise PartialFailure(exc, _fetched(results, tried)) from exc
            failed = failed or exc
            continue
        tried.append(RemoteFetch(name, utcnow()))
        results[name] = fetched.to_dict()
        if name == "origin" and fetched.default_branch not in (None, repo.default_branch):
            # origin's HEAD followed: a repo cloned empty learns its default branch here
            ctx.store.repos.update(repo.id, default_branch=fetched.default_branch)
        queue_rule_syncs(ctx, start, name, results[name])
        log.info("fetch_done repo=%s remote=%s updated=%d deleted=%d ms=%d", repo.name, name,
                 len(fetched.updated), len(fetched.deleted), (time.monotonic() - began) * 1000)
    outcome = _fetched(results, tried)
    if failed:
        raise PartialFailure(failed, outcome)
    return outcome


def _fetched(results: Result, tried: list[RemoteFetch]) -> Outcome:
    """A fetch's outcome: fetched at its last success, if a remote was fetched at all."""
    succeeded = [t.at for t in tried if t.error_code is None]
    return Outcome({"remotes": results}, max(succeeded, default=None), tuple(tried))


def queue_rule_syncs(ctx: WorkerContext, start: JobStart, remote: str, fetched: Result) -> list[int]:
    """Queue a sync job for each rule watching a branch this fetch moved."""
    repo = repo_of(start)
    queued = []
    for rule in rules_to_run(start.rules, remote, fetched):
        params = {"rule": rule.name, "remote": rule.remote, "branch": rule.branch, "local_branch": rule.local_branch,
                  "strategy": rule.strategy or repo.pull_strategy or ctx.settings.pull_strategy,
                  "push_to": rule.push_to, "allow_force": rule.allow_force}
        job = ctx.jobs.add(repo, JobKind.SYNC, params, trigger=Trigger.RULE,
                           coalesce_key=sync_coalesce_key(repo.id, rule.name))
        queued.append(job.id)
    return queued


def do_pull(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    prepare(ctx, start, clone, progress)
    params = start.job.params
    branch = clone.branch(params["branch"])
    if not branch.upstream:
        raise GitError("no_upstream", f"branch {branch.name!r} has no upstream")
    if params.get("dry_run"):
        # Fetches the upstream's tip without moving any ref, so no rule is set off either.
        return Outcome(clone.preview_pull(branch.name, params["strategy"]).to_dict())
    remote = branch.upstream.split("/", 1)[0]
    fetched = fetch_remotes(ctx, start, clone, [remote], progress)
    return Outcome(clone.pull(branch.name, params["strategy"]).to_dict(), fetched.fetched_at, fetched.remote_fetches)


def do_push(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    """Push a branch, having fetched the remote's branch first: a rejection shows its tip now,
    and a force is leased on that tip (or on `expect`, the tip the caller confirmed)."""
    repo = prepare(ctx, start, clone, progress)
    p = start.job.params
    result = clone.push(
        p["branch"], remote=p.get("remote"), remote_branch=p.get("remote_branch"),
        set_upstream=p.get("set_upstream"), force=bool(p.get("force")), protected=repo.protected_branches or (),
        expect=p.get("expect"), dry_run=bool(p.get("dry_run")), look_first=True, fetched=_rules_hear(ctx, start),
    )
    return Outcome(result.to_dict())


def _rules_hear(ctx: WorkerContext, start: JobStart) -> Callable[[str, FetchResult], None]:
    """What a push's fetch of its branch moved sets off rules as any fetch does: the fetch a
    forge's webhook then makes finds nothing moved."""

    def hear(remote: str, fetched: FetchResult) -> None:
        queue_rule_syncs(ctx, start, remote, fetched.to_dict())

    return hear


def do_restore(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    """Put a branch back where a backup kept it, if the branch is at the job's lease."""
    repo = prepare(ctx, start, clone, progress)
    p = start.job.params
    backup = BackupRef(p["ref"], p["sha"], p["branch"], p.get("remote"), None)
    result = clone.restore(backup, p.get("lease"), repo.protected_branches or (), _rules_hear(ctx, start))
    return Outcome({"backup_id": p["backup_id"], **result.to_dict()})


def keeping_backups(op: Op) -> Op:
    """`op`, then the backups it made recorded (a rebase's replaced tip kept as one first)."""

    def run(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
        outcome = op(ctx, start, clone, progress)
        record_made(ctx, start, clone, outcome.result)
        return outcome

    return run


def do_sync(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    """Update the rule's local branch from the remote branch as fetched, then push it on."""
    repo = prepare(ctx, start, clone, progress)
    p = start.job.params
    pulled = clone.update_branch(p["local_branch"], p["remote"], p["branch"], p["strategy"])
    pushed = None
    if p.get("push_to") and pulled.outcome not in ("conflict", "diverged"):
        # The push updates refs/remotes/<push_to>/* itself, so the fetch that a forge's webhook
        # for this push causes finds nothing moved and sets off no rule again.
        pushed = clone.push(p["local_branch"], remote=p["push_to"], remote_branch=p["local_branch"],
                            set_upstream=False, force=bool(p.get("allow_force")),
                            protected=repo.protected_branches or ()).to_dict()
    return Outcome({"pull": pulled.to_dict(), "push": pushed})


def do_branch(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    prepare(ctx, start, clone, progress)
    p = start.job.params
    created = clone.create_branch(p["name"], p["start_point"], track=p.get("track", True))
    return Outcome({"branch": created.to_dict()})


def do_upstream(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    prepare(ctx, start, clone, progress)
    p = start.job.params
    if p.get("unset"):
        clone.branch(p["branch"])  # unknown branch -> branch_not_found
        clone.unset_upstream(p["branch"])
        return Outcome({"branch": clone.branch(p["branch"]).to_dict()})
    return Outcome({"branch": clone.set_upstream(p["branch"], p["remote"], p["remote_branch"]).to_dict()})


def do_remote(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    prepare(ctx, start, clone, progress)
    return Outcome({"remotes": sorted(clone.remotes())})


def do_remove(ctx: WorkerContext, start: JobStart, clone: Clone, progress: ProgressCallback) -> Outcome:
    clone.remove()
    # Held by this job as it goes: a job waiting for it finds it gone and takes a new one.
    lock_file(clone.path).unlink(missing_ok=True)
    return Outcome({"removed": True})


OPS: dict[str, Op] = {
    JobKind.CLONE: do_clone,
    JobKind.FETCH: do_fetch,
    JobKind.PULL: keeping_backups(do_pull),
    JobKind.PUSH: keeping_backups(do_push),
    JobKind.SYNC: keeping_backups(do_sync),
    JobKind.BRANCH: do_branch,
    JobKind.UPSTREAM: do_upstream,
    JobKind.REMOTE: do_remote,
    JobKind.REMOVE: do_remove,
    JobKind.RESTORE: keeping_backups(do_restore),
}
