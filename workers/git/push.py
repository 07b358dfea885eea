"""Pushing a local branch: fast-forward, create, or force with lease and a backup; or a dry run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from . import backups, history, validate
from .errors import GitError
from .models import Commit, FetchResult, PushResult, RefGone, RefMove
from .refs import (
    HEADS,
    REMOTES,
    delete_refs,
    is_ancestor,
    ref_sha,
    require_remote,
    resolve_commit,
    upstream_of,
)
from .refs import set_upstream as write_upstream
from .runner import Output, Runner

BACKUPS = backups.REMOTE_BACKUPS
COMMITS_MAX = 100
Fetched = Callable[[str, FetchResult], None]  # (remote, what a push's fetch of its branch moved)
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


@dataclass(frozen=True)
class Target:
    """Where a push goes: a remote's branch, its URL, and whether force pushes to it are refused."""

    remote: str
    branch: str
    url: str
    protected: bool

    @property
    def tracking(self) -> str:
        return f"{REMOTES}{self.remote}/{self.branch}"


def push(
    runner: Runner,
    branch: str,
    *,
    remote: str | None = None,
    remote_branch: str | None = None,
    set_upstream: bool | None = None,
    force: bool = False,
    protected: Sequence[str] = (),
    expect: str | None = None,
    dry_run: bool = False,
    look_first: bool = False,
    fetched: Fetched | None = None,
) -> PushResult:
    """Push local `branch`; rejections are results, failures are GitError.

    `look_first` fetches the remote's branch before anything else, so the push knows its tip
    now (a dry run and a push that names the tip it `expect`s always do). A force is leased on
    `expect` if given, else on the tip as last fetched. `fetched` hears what that fetch moved."""
    local = _local_tip(runner, branch, remote, remote_branch)
    target_remote, target_branch, write_up = _target(runner, branch, remote, remote_branch, set_upstream)
    validate.branch_name(target_branch, "remote branch")
    if expect is not None:
        _full_sha(expect)
    url = require_remote(runner, target_remote)
    to = Target(target_remote, target_branch, url, any(fnmatchcase(target_branch, p) for p in protected))
    result = push_commit(runner, local, to, force=force, expect=expect, dry_run=dry_run,
                         look_first=look_first or dry_run or expect is not None, fetched=fetched)
    if write_up and not dry_run and result.outcome != "rejected":
        write_upstream(runner, branch, target_remote, target_branch)
    return result


def push_commit(runner: Runner, local: str, to: Target, *, force: bool = False, expect: str | None = None,
                dry_run: bool = False, look_first: bool = False, fetched: Fetched | None = None) -> PushResult:
    """Make `to`'s branch `local` (a commit in the clone): the checks, then the push itself."""
    if look_first:
        look(runner, to, fetched)
    current = ref_sha(runner, to.tracking)
    change = _change(runner, current, local)
    overwrites = change == "non-fast-forward"
    discarded = commits(runner, current, [local]) if overwrites and current else None

    def result(outcome: str, reason: str | None = None, **more: Any) -> PushResult:
        return PushResult(outcome, to.remote, to.branch, current, local, reason, discarded=discarded,
                          dry_run=True if dry_run else None, **more)

    if expect is not None and expect != current:
        return result("rejected", "stale", force_available=not to.protected, message=_moved(to, current, expect))
    if overwrites and force and to.protected:
        return result("rejected", "protected", force_available=False)
    if overwrites and not force and look_first:
        return result("rejected", "non-fast-forward", force_available=not to.protected)
    if dry_run:
        arriving = commits(runner, local, [current] if current else [f"--remotes={to.remote}"])
        return result("force" if overwrites else change, arriving=arriving)
    return _push(runner, local, to, current, force=force, discarded=discarded)


def _push(runner: Runner, local: str, to: Target, expected: str | None, *, force: bool,
          discarded: list[Commit] | None) -> PushResult:
    """Run `git push` (leased on `expected` when forced) and read what it did."""

    def result(outcome: str, before: str | None, reason: str | None = None, force_available: bool | None = None,
               backup_ref: str | None = None) -> PushResult:
        return PushResult(outcome, to.remote, to.branch, before, local, reason, force_available, backup_ref,
                          discarded=discarded if outcome in ("rejected", "pushed") else None)

    args = ["push", "--porcelain"]
    backup: str | None = None
    if force:
        overwrites = expected is not None and expected != local and not is_ancestor(runner, expected, local)
        if overwrites:
            assert expected is not None
            backup = backups.keep_remote(runner, to.remote, to.branch, expected)
        # An empty lease value means "the branch must not exist there".
        args.append(f"--force-with-lease={HEADS}{to.branch}:{expected or ''}")
    flag, summary, reason = _run_push(runner, args, to.remote, f"{local}:{HEADS}{to.branch}", to.url, backup)
    if flag == "!":
        short = _REASONS.get(reason, reason or "rejected")
        force_available = (not to.protected) if short in ("non-fast-forward", "stale") else None
        return result("rejected", expected, reason=short, force_available=force_available)
    if backup is not None and flag != "+":  # nothing was overwritten
        delete_refs(runner, [backup])
        backup = None
    # git updates the remote-tracking ref itself; this also covers pushes it did not map.
    runner.run(["update-ref", "-m", "gitferry: push", "--end-of-options", to.tracking, local])
    if flag == "*":
        return result("created", None)
    if flag == "=":
        return result("up-to-date", local)
    before = resolve_commit(runner, summary.split("..")[0]) if flag == " " and ".." in summary else None
    return result("pushed", before or expected, backup_ref=backup)


def look(runner: Runner, to: Target, fetched: Fetched | None = None) -> None:
    """Fetch the remote's branch alone into its remote-tracking ref (dropped if it is gone there);
    `fetched` hears if that moved it, as a fetch of the whole remote would say."""
    old = ref_sha(runner, to.tracking)
    refspec = f"+{HEADS}{to.branch}:{to.tracking}"
    out = runner.run(["fetch", "--no-tags", "--no-write-fetch-head", "--end-of-options", to.remote, refspec],
                     url=to.url, check=False)
    if out.returncode != 0 and "couldn't find remote ref" not in out.stderr:
        raise out.error()
    if out.returncode != 0 and old is not None:
        delete_refs(runner, [to.tracking])
    new = ref_sha(runner, to.tracking)
    if fetched is not None and new != old:
        name = HEADS + to.branch
        if new is not None:
            fetched(to.remote, FetchResult(updated=[RefMove(name, old, new)], deleted=[]))
        elif old is not None:
            fetched(to.remote, FetchResult(updated=[], deleted=[RefGone(name, old)]))


def _change(runner: Runner, current: str | None, local: str) -> str:
    """What making the remote's branch `local` is: create | up-to-date | fast-forward | non-fast-forward."""
    if current is None:
        return "create"
    if current == local:
        return "up-to-date"
    return "fast-forward" if is_ancestor(runner, current, local) else "non-fast-forward"


def _moved(to: Target, current: str | None, expect: str) -> str:
    now = f"is at {current}" if current else "does not exist"
    return f"{to.remote}/{to.branch} {now}, not at {expect} as expected; nothing was pushed"


def _full_sha(value: str) -> str:
    if len(value) not in (40, 64) or not validate.is_hex(value):
        raise GitError("invalid", f"expect must be a full commit sha, not {value[:80]!r}")
    return value


def commits(runner: Runner, tip: str, leave_out: list[str]) -> list[Commit]:
    """Commits of `tip` not in `leave_out` (shas, or --remotes=<remote>), newest first, at most
    COMMITS_MAX."""
    return history.log(runner, [f"--max-count={COMMITS_MAX}", tip, "--not", *leave_out])


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
