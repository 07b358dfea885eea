"""Rebasing in a disposable worktree, like `git pull --rebase`, leaving nothing behind."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .models import CommitSummary
from .refs import is_ancestor
from .runner import Runner

WORKTREES_DIR = "gitferry-worktrees"
SPARSE_NOTHING = "/.gitferry-checks-out-nothing"
# The worktree checks out nothing, and the rebase leaves housekeeping to the job's end.
IN_WORKTREE = ("-c", "core.sparseCheckout=true", "-c", "maintenance.auto=false")


@dataclass(frozen=True)
class Replayed:
    """A rebase's end: the new tip, or the conflicting paths and the commit that stopped it."""

    tip: str | None
    conflicts: list[str] = field(default_factory=list)
    stopped_at: CommitSummary | None = None


def clean_worktrees(runner: Runner, clone_path: Path) -> None:
    """Forget worktrees a killed worker left behind, so every rebase starts clean."""
    leftovers = clone_path / WORKTREES_DIR
    if leftovers.exists():
        shutil.rmtree(leftovers, ignore_errors=True)
    if leftovers.exists() or (clone_path / "worktrees").exists():
        runner.run(["worktree", "prune"])


def fork_point(runner: Runner, upstream_ref: str, ours: str, theirs: str) -> str | None:
    """Where `git pull --rebase` starts replaying from, if not at `theirs`.

    As git does: the fork point (`git merge-base --fork-point`, from the remote-tracking ref's
    reflog) marks commits the upstream once had and then rewrote away, which are not ours to
    replay. git drops it when it is also an ancestor of `theirs` (the octopus merge base of
    ours, theirs and the fork point is the fork point itself)."""
    out = runner.run(["merge-base", "--fork-point", upstream_ref, ours], check=False)
    fork = out.stdout.strip() if out.returncode == 0 else ""
    if not fork or is_ancestor(runner, fork, theirs):
        return None
    return fork


def rebase_onto(runner: Runner, clone_path: Path, ours: str, theirs: str, base: str) -> Replayed:
    """Replay the commits `base..ours` onto `theirs` as `git rebase --onto theirs base` does."""
    clean_worktrees(runner, clone_path)
    (clone_path / WORKTREES_DIR).mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=clone_path / WORKTREES_DIR))
    tree = tmp / "wt"
    wt = Runner(runner.config, deadline=runner.deadline)
    try:
        # A sparse worktree with nothing checked out: the rebase merges in the index and writes
        # only conflicting files, where a full checkout of a large tree costs most of the time.
        # Set on the command line and in the worktree's own info/, not with `git sparse-checkout`,
        # which would write to the clone's config: a rebase (or a dry run) changes no config.
        runner.run(["worktree", "add", "--no-checkout", "--detach", str(tree), ours])
        gitdir = Path((tree / ".git").read_text(encoding="utf-8").removeprefix("gitdir:").strip())
        (gitdir / "info").mkdir(exist_ok=True)
        (gitdir / "info" / "sparse-checkout").write_text(SPARSE_NOTHING + "\n", encoding="utf-8")
        wt.run([*IN_WORKTREE, "read-tree", "-m", "-u", "HEAD"], cwd=tree)
        out = wt.run([*IN_WORKTREE, "rebase", "--no-autostash", "--onto", theirs, base], cwd=tree, check=False)
        if out.returncode == 0:  # the worktree's HEAD is detached: its file holds the sha
            return Replayed((gitdir / "HEAD").read_text(encoding="utf-8").strip())
        unmerged = wt.run(["diff", "--name-only", "--diff-filter=U", "-z"], cwd=tree, check=False)
        conflicts = sorted({p for p in unmerged.stdout.split("\0") if p})
        stopped = wt.run(["log", "-1", "--format=%H%x00%s", "REBASE_HEAD", "--"], cwd=tree, check=False)
        wt.run(["rebase", "--abort"], cwd=tree, check=False)
        if not conflicts:
            raise out.error()
        sha, _, subject = stopped.stdout.strip().partition("\0")
        return Replayed(None, conflicts, CommitSummary(sha, subject) if stopped.returncode == 0 else None)
    finally:
        removed = runner.run(["worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        if removed.returncode != 0:
            runner.run(["worktree", "prune"], check=False)
