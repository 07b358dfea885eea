"""Pushing a local branch: fast-forward, create, or force with lease and a backup."""

from __future__ import annotations

import time
from collections.abc import Sequence
from fnmatch import fnmatchcase

from . import validate
from .errors import GitError
from .models import PushResult
from .refs import (
    HEADS,
    REMOTES,
    delete_refs,
    is_ancestor,
    ref_sha,
    require_remote,
    resolve_commit,
    update_ref,
    upstream_of,
    zero_sha,
)
from .refs import set_upstream as write_upstream
from .runner import Output, Runner

BACKUPS = "refs/gitferry/backups/"
_REASONS = {"non-fast-forward": "non-fast-forward", "fetch first": "non-fast-forward", "stale info": "stale"}


def _target(
    runner: Runner,
    branch: str,
    remote: str | None,
    remote_branch: str | None,
    set_upstream: bool | None,
) -> tuple[str, str, bool]:
    """(remote, remote branch, write upstream afterwards?) for a push of `branch`."""
    if remote is not None or remote_branch is not None:
        return remote or "origin", remote_branch or branch, set_upstream is True
    upstream = upstream_of(runner, branch)
    if upstream is not None:
        return upstream[0], upstream[1], False
    return "origin", branch, set_upstream is not False


def push(
    runner: Runner,
    branch: str,
    *,
    remote: str | None = None,
    remote_branch: str | None = None,
    set_upstream: bool | None = None,
    force: bool = False,
    protected: Sequence[str] = (),
) -> PushResult:
    """Push local `branch`; rejections are results, failures are GitError."""
    local = _local_tip(runner, branch, remote, remote_branch)
    target_remote, target_branch, write_up = _target(runner, branch, remote, remote_branch, set_upstream)
    validate.branch_name(target_branch, "remote branch")
    url = require_remote(runner, target_remote)
    tracking = f"{REMOTES}{target_remote}/{target_branch}"
    expected = ref_sha(runner, tracking)
    is_protected = any(fnmatchcase(target_branch, pattern) for pattern in protected)

    def result(outcome: str, before: str | None, reason: str | None = None, force_available: bool | None = None,
               backup_ref: str | None = None) -> PushResult:
        return PushResult(outcome, target_remote, target_branch, before, local, reason, force_available, backup_ref)

    args = ["push", "--porcelain"]
    backup: str | None = None
    if force:
        overwrites = expected is not None and expected != local and not is_ancestor(runner, expected, local)
        if overwrites and is_protected:
            return result("rejected", expected, reason="protected", force_available=False)
        if overwrites:
            assert expected is not None
            backup = _backup(runner, target_remote, target_branch, expected)
        # An empty lease value means "the branch must not exist there".
        args.append(f"--force-with-lease={HEADS}{target_branch}:{expected or ''}")
    flag, summary, reason = _run_push(runner, args, target_remote, f"{local}:{HEADS}{target_branch}", url, backup)
    if flag == "!":
        short = _REASONS.get(reason, reason or "rejected")
        force_available = (not is_protected) if short == "non-fast-forward" else None
        return result("rejected", expected, reason=short, force_available=force_available)
    if backup is not None and flag != "+":  # nothing was overwritten
        delete_refs(runner, [backup])
        backup = None
    # git updates the remote-tracking ref itself; this also covers pushes it did not map.
    runner.run(["update-ref", "-m", "gitferry: push", "--end-of-options", tracking, local])
    if write_up:
        write_upstream(runner, branch, target_remote, target_branch)
    if flag == "*":
        return result("created", None)
    if flag == "=":
        return result("up-to-date", local)
    before = resolve_commit(runner, summary.split("..")[0]) if flag == " " and ".." in summary else None
    return result("pushed", before or expected, backup_ref=backup)


def _local_tip(runner: Runner, branch: str, remote: str | None, remote_branch: str | None) -> str:
    """The tip of local `branch`, once the names asked for are known to be valid."""
    validate.branch_name(branch)
    if remote is not None:
        validate.remote_name(remote)
    if remote_branch is not None:
        validate.branch_name(remote_branch, "remote branch")
    local = ref_sha(runner, HEADS + branch)
    if local is None:
        raise GitError("branch_not_found", f"branch {branch!r} does not exist")
    return local


def _run_push(runner: Runner, args: list[str], remote: str, refspec: str, url: str,
              backup: str | None) -> tuple[str, str, str]:
    """Run the push: (flag, summary, reason) of its line for the branch. A backup kept for a
    force that did not happen is deleted: it would only be clutter."""
    try:
        out = runner.run([*args, "--end-of-options", remote, refspec], url=url, check=False)
        found = _parse_porcelain(out, refspec.partition(":")[2])
    except GitError:
        if backup is not None:
            delete_refs(runner, [backup])
        raise
    if found[0] == "!" and backup is not None:
        delete_refs(runner, [backup])
    return found


def _parse_porcelain(out: Output, dst: str) -> tuple[str, str, str]:
    """(flag, summary, reason) of the line for `dst` in `git push --porcelain` output."""
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1 and parts[1].endswith(":" + dst):
            summary, _, rest = parts[2].partition(" (")
            return parts[0], summary.strip(), rest.rstrip(")").strip()
    raise (
        out.error()
        if out.returncode != 0
        else GitError(
            "git",
            "git push did not report on the branch",
            command=out.command,
            returncode=out.returncode,
            stdout=out.stdout,
            stderr=out.stderr,
        )
    )


def _backup(runner: Runner, remote: str, remote_branch: str, old: str) -> str:
    """Keep the commit a force push will overwrite reachable under refs/gitferry/backups/."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    ref = f"{BACKUPS}{remote}/{remote_branch}/{stamp}-{old[:12]}"
    if ref_sha(runner, ref) != old:
        update_ref(runner, ref, old, zero_sha(old), f"gitferry: backup before force push to {remote}")
    return ref
