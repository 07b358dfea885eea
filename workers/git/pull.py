"""Updating a local branch from a remote-tracking branch: fast-forward, merge or rebase."""

from __future__ import annotations

from pathlib import Path

from . import validate
from .errors import GitError
from .models import PullResult
from .rebase import rebase_onto
from .refs import (
    HEADS,
    REMOTES,
    ahead_behind,
    ref_sha,
    require_remote,
    update_ref,
    upstream_of,
    zero_sha,
)
from .runner import Runner

STRATEGIES = ("ff-or-merge", "ff-only", "rebase")


def pull(runner: Runner, clone_path: Path, branch: str, strategy: str) -> PullResult:
    """Update `branch` from its upstream as last fetched (no network)."""
    validate.branch_name(branch)
    upstream = upstream_of(runner, branch)
    if upstream is None:
        if ref_sha(runner, HEADS + branch) is None:
            raise GitError("branch_not_found", f"branch {branch!r} does not exist")
        raise GitError("no_upstream", f"branch {branch!r} has no upstream branch")
    return update_branch(runner, clone_path, branch, upstream[0], upstream[1], strategy)


def update_branch(
    runner: Runner, clone_path: Path, branch: str, remote: str, remote_branch: str, strategy: str
) -> PullResult:
    """Bring local `branch` up to `remote`/`remote_branch` with the given strategy."""
    validate.branch_name(branch)
    validate.branch_name(remote_branch, "remote branch")
    if strategy not in STRATEGIES:
        raise GitError("invalid", f"pull strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    require_remote(runner, remote)
    upstream_ref = f"{REMOTES}{remote}/{remote_branch}"
    theirs = ref_sha(runner, upstream_ref)
    if theirs is None:
        raise GitError("branch_not_found", f"remote branch {remote}/{remote_branch} not found (fetch first?)")
    local_ref = HEADS + branch
    ours = ref_sha(runner, local_ref)
    reason = f"gitferry: pull {remote}/{remote_branch} ({strategy})"

    if ours is None:
        # Sync rules create a missing local branch where the remote one is.
        update_ref(runner, local_ref, theirs, zero_sha(theirs), reason)
        return PullResult("fast-forwarded", zero_sha(theirs), theirs, [])
    ahead, behind = (0, 0) if ours == theirs else ahead_behind(runner, ours, theirs)
    if behind == 0:
        return PullResult("up-to-date", ours, ours, [])
    if ahead == 0:
        update_ref(runner, local_ref, theirs, ours, reason)
        return PullResult("fast-forwarded", ours, theirs, [])

    if strategy == "ff-only":
        return PullResult("diverged", ours, ours, [])
    if strategy == "ff-or-merge":
        tree, conflicts = merge_tree(runner, ours, theirs)
        if tree is None:
            return PullResult("conflict", ours, ours, conflicts)
        message = f"Merge remote-tracking branch '{remote}/{remote_branch}'\n"
        merged = runner.run(["commit-tree", tree, "-p", ours, "-p", theirs], input=message).stdout.strip()
        update_ref(runner, local_ref, merged, ours, reason)
        return PullResult("merged", ours, merged, [])

    new, conflicts = rebase_onto(runner, clone_path, ours, theirs, upstream_ref)
    if new is None:
        return PullResult("conflict", ours, ours, conflicts)
    update_ref(runner, local_ref, new, ours, reason)
    return PullResult("rebased", ours, new, [])


def merge_tree(runner: Runner, ours: str, theirs: str) -> tuple[str | None, list[str]]:
    """Merge two commits without a work tree: (tree, []) if clean, (None, paths) on conflict."""
    args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs]
    out = runner.run(args, check=False)
    if out.returncode not in (0, 1):
        raise out.error()
    parts = out.stdout.split("\0")
    if out.returncode == 0:
        return parts[0].strip(), []
    return None, sorted({p for p in parts[1:] if p})
