"""Updating a local branch from a remote-tracking branch as plain `git pull` does: fast-forward,
merge or rebase; and a dry run of it that changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from . import validate
from .errors import GitError
from .models import CommitSummary, PullResult
from .rebase import fork_point, rebase_onto
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
# The newest commits a dry run lists of those that would arrive (it counts them all).
INCOMING_SHOWN = 100
# Branches into which git's merge message says no "into <branch>" (merge.suppressDest's default).
_SUPPRESS_DEST = ("main", "master")


@dataclass(frozen=True)
class _Pull:
    """One pull's facts: where the branch is, where its upstream is, and how git names them."""

    branch: str
    remote_branch: str
    url: str
    upstream_ref: str
    ours: str | None
    theirs: str


def pull(runner: Runner, clone_path: Path, branch: str, strategy: str) -> PullResult:
    """Update `branch` from its upstream as last fetched (no network)."""
    remote, remote_branch = _upstream(runner, branch)
    return update_branch(runner, clone_path, branch, remote, remote_branch, strategy)


def preview(runner: Runner, clone_path: Path, branch: str, strategy: str) -> PullResult:
    """What pulling `branch` would do, with its upstream's tip fetched now: the outcome, the
    commits that would arrive, the conflicts. No ref, index or working tree changes (the
    fetch writes FETCH_HEAD only, as `git fetch <remote> <branch>` with no refmap does)."""
    remote, remote_branch = _upstream(runner, branch)
    validate.branch_name(remote_branch, "remote branch")
    url = require_remote(runner, remote)
    runner.run(["fetch", "--no-tags", "--refmap=", "--quiet", "--end-of-options", remote,
                f"{HEADS}{remote_branch}"], url=url)
    fetched = (clone_path / "FETCH_HEAD").read_text(encoding="utf-8", errors="replace").split("\t", 1)[0]
    return update_branch(runner, clone_path, branch, remote, remote_branch, strategy, dry_run=True, theirs=fetched)


def _upstream(runner: Runner, branch: str) -> tuple[str, str]:
    validate.branch_name(branch)
    upstream = upstream_of(runner, branch)
    if upstream is None:
        if ref_sha(runner, HEADS + branch) is None:
            raise GitError("branch_not_found", f"branch {branch!r} does not exist")
        raise GitError("no_upstream", f"branch {branch!r} has no upstream branch")
    return upstream


def update_branch(
    runner: Runner,
    clone_path: Path,
    branch: str,
    remote: str,
    remote_branch: str,
    strategy: str,
    *,
    dry_run: bool = False,
    theirs: str | None = None,
) -> PullResult:
    """Bring local `branch` up to `remote`/`remote_branch` (or `theirs`, its tip fetched
    otherwise) with the given strategy; with `dry_run`, only tell what that would do."""
    validate.branch_name(branch)
    validate.branch_name(remote_branch, "remote branch")
    if strategy not in STRATEGIES:
        raise GitError("invalid", f"pull strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    url = require_remote(runner, remote)
    upstream_ref = f"{REMOTES}{remote}/{remote_branch}"
    theirs = theirs or ref_sha(runner, upstream_ref)
    if theirs is None:
        raise GitError("branch_not_found", f"remote branch {remote}/{remote_branch} not found (fetch first?)")
    local_ref = HEADS + branch
    ours = ref_sha(runner, local_ref)
    facts = _Pull(branch, remote_branch, url, upstream_ref, ours, theirs)
    result = _update(runner, clone_path, facts, strategy, dry_run)
    if dry_run:
        return _dry(runner, result, facts)
    if result.after != result.before:
        reason = f"gitferry: pull {remote}/{remote_branch} ({strategy})"
        update_ref(runner, local_ref, result.after, result.before, reason)
    return result


def _update(runner: Runner, clone_path: Path, facts: _Pull, strategy: str, dry_run: bool) -> PullResult:
    ours, theirs = facts.ours, facts.theirs
    if ours is None:
        # Sync rules create a missing local branch where the remote one is.
        return PullResult("fast-forwarded", zero_sha(theirs), theirs)
    if ours == theirs:
        return PullResult("up-to-date", ours, ours)
    ahead, behind = ahead_behind(runner, ours, theirs)
    if ahead == 0:
        return PullResult("fast-forwarded", ours, theirs)
    if strategy == "rebase":
        return _rebase(runner, clone_path, facts, ours, behind)
    if behind == 0:
        return PullResult("up-to-date", ours, ours)
    if strategy == "ff-only":
        return PullResult("diverged", ours, ours)
    return _merge(runner, facts, ours, dry_run)


def _rebase(runner: Runner, clone_path: Path, facts: _Pull, ours: str, behind: int) -> PullResult:
    """`git pull --rebase`: `git rebase --onto theirs <fork point or theirs>`. Even when the
    branch is not behind, a fork point means the upstream dropped commits the branch still has."""
    fork = fork_point(runner, facts.upstream_ref, ours, facts.theirs)
    if fork is None and behind == 0 and _linear(runner, facts.theirs, ours):
        return PullResult("up-to-date", ours, ours)  # git: "Current branch ... is up to date."
    # (A branch with merges of its own on top of theirs is rebased all the same: git's rebase
    # skips only linear history, and replays the merged commits in a line.)
    replayed = rebase_onto(runner, clone_path, ours, facts.theirs, fork or facts.theirs)
    if replayed.tip is None:
        return PullResult("conflict", ours, ours, replayed.conflicts, replayed.stopped_at)
    return PullResult("up-to-date" if replayed.tip == ours else "rebased", ours, replayed.tip)


def _linear(runner: Runner, base: str, tip: str) -> bool:
    """No merge commit among the commits from `base` (an ancestor) to `tip`."""
    out = runner.run(["rev-list", "--count", "--merges", "--max-count=1", f"{base}..{tip}", "--"])
    return out.stdout.strip() == "0"


def _merge(runner: Runner, facts: _Pull, ours: str, dry_run: bool) -> PullResult:
    tree, conflicts = merge_tree(runner, ours, facts.theirs)
    if tree is None:
        return PullResult("conflict", ours, ours, conflicts)
    if dry_run:
        return PullResult("merged", ours, ours)
    message = merge_message(facts.url, facts.remote_branch, facts.branch)
    merged = runner.run(["commit-tree", tree, "-p", ours, "-p", facts.theirs], input=message).stdout.strip()
    return PullResult("merged", ours, merged)


def _dry(runner: Runner, result: PullResult, facts: _Pull) -> PullResult:
    """The dry run's answer: nothing moved, and the commits the pull would bring."""
    span = [facts.theirs] + ([f"^{facts.ours}"] if facts.ours else [])
    listed = runner.run(["log", f"-n{INCOMING_SHOWN + 1}", "--format=%H%x00%s", *span, "--"]).stdout
    incoming = [CommitSummary(*line.split("\0", 1)) for line in listed.splitlines() if "\0" in line]
    count = len(incoming)
    if count > INCOMING_SHOWN:  # more than are shown: counted apart
        count = int(runner.run(["rev-list", "--count", *span, "--"]).stdout.strip() or 0)
    shown = incoming[:INCOMING_SHOWN]
    return replace(result, after=result.before, dry_run=True, incoming=shown, incoming_count=count)


def merge_message(url: str, remote_branch: str, branch: str) -> str:
    """The message `git pull` gives its merge commit (git fmt-merge-msg on FETCH_HEAD's line)."""
    title = f"Merge branch '{remote_branch}' of {fetch_head_url(url)}"
    if branch not in _SUPPRESS_DEST:
        title += f" into {branch}"
    return title + "\n"


def fetch_head_url(url: str) -> str:
    """The remote's URL as `git fetch` writes it to FETCH_HEAD: no user or password, no
    trailing slashes, no ".git" at the end."""
    scheme, sep, rest = url.partition("://")
    if sep:
        host, slash, path = rest.partition("/")
        url = f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
    elif "@" in url and not any(c in url.split("@", 1)[0] for c in "/:"):
        url = url.split("@", 1)[1]
    url = url.rstrip("/") or url
    if url.endswith(".git") and len(url) > 5:
        url = url[:-4]
    return url


def merge_tree(runner: Runner, ours: str, theirs: str) -> tuple[str | None, list[str]]:
    """Merge two commits without a work tree: (tree, []) if clean, (None, paths) on conflict.
    Paths a file/directory or type conflict moved aside are named as `git pull` names them:
    `path~HEAD` on our side, `path~<their sha>` on theirs (the label of FETCH_HEAD's commit)."""
    args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs]
    out = runner.run(args, check=False)
    if out.returncode not in (0, 1):
        raise out.error()
    parts = out.stdout.split("\0")
    if out.returncode == 0:
        return parts[0].strip(), []
    ours_label = "~" + ours
    named = (p[: -len(ours_label)] + "~HEAD" if p.endswith(ours_label) else p for p in parts[1:] if p)
    return None, sorted(set(named))
