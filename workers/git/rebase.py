"""Rebasing in a disposable worktree, like `git pull --rebase`, leaving nothing behind."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .runner import Runner

WORKTREES_DIR = "gitferry-worktrees"
SPARSE_NOTHING = "/.gitferry-checks-out-nothing"


def clean_worktrees(runner: Runner, clone_path: Path) -> None:
    """Forget worktrees a killed worker left behind, so every rebase starts clean."""
    leftovers = clone_path / WORKTREES_DIR
    if leftovers.exists():
        shutil.rmtree(leftovers, ignore_errors=True)
    runner.run(["worktree", "prune"])


def rebase_onto(
    runner: Runner, clone_path: Path, ours: str, theirs: str, upstream_ref: str
) -> tuple[str | None, list[str]]:
    """Replay `ours`' own commits onto `theirs`: (new tip, []) or (None, conflicting paths)."""
    clean_worktrees(runner, clone_path)
    # As `git pull --rebase` does: commits the upstream once had and then rewrote away are
    # not ours to replay; the remote-tracking ref's reflog tells which.
    fork = runner.run(["merge-base", "--fork-point", upstream_ref, ours], check=False)
    base = fork.stdout.strip() if fork.returncode == 0 and fork.stdout.strip() else theirs
    (clone_path / WORKTREES_DIR).mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=clone_path / WORKTREES_DIR))
    tree = tmp / "wt"
    wt = Runner(runner.config, deadline=runner.deadline)
    try:
        # A sparse worktree with nothing checked out: the rebase merges in the index and writes
        # only conflicting files, where a full checkout of a large tree costs most of the time.
        runner.run(["worktree", "add", "--no-checkout", "--detach", str(tree), ours])
        wt.run(["sparse-checkout", "set", "--no-cone", SPARSE_NOTHING], cwd=tree)
        wt.run(["read-tree", "-m", "-u", "HEAD"], cwd=tree)
        out = wt.run(["rebase", "--no-autostash", "--onto", theirs, base], cwd=tree, check=False)
        if out.returncode == 0:
            head = wt.run(["rev-parse", "--verify", "HEAD"], cwd=tree)
            return head.stdout.strip(), []
        unmerged = wt.run(["diff", "--name-only", "--diff-filter=U", "-z"], cwd=tree, check=False)
        conflicts = sorted({p for p in unmerged.stdout.split("\0") if p})
        wt.run(["rebase", "--abort"], cwd=tree, check=False)
        if not conflicts:
            raise out.error()
        return None, conflicts
    finally:
        runner.run(["worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        runner.run(["worktree", "prune"], check=False)
