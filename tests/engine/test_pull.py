"""pull strategies, checked against plain `git pull` on a normal clone of the same history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.engine.conftest import Forge
from tests.support.repos import git, make_commit, work_clone
from workers.git import Clone, GitError
from workers.git.refs import update_ref
from workers.git.runner import Runner

Change = tuple[str, str | None, str]  # path, content (None deletes), message
PLAIN_PULL = {
    "ff-or-merge": ["pull", "--no-rebase", "--no-edit"],
    "ff-only": ["pull", "--ff-only"],
    "rebase": ["pull", "--rebase"],
}


def shape(repo: Path, rev: str) -> dict[str, object]:
    """What must match between gitferry's result and plain git's: trees and structure."""
    parents = git(repo, "rev-list", "--parents", "-n", "1", rev).split()[1:]
    return {
        "tree": git(repo, "rev-parse", f"{rev}^{{tree}}"),
        "parent_trees": [git(repo, "rev-parse", f"{p}^{{tree}}") for p in parents],
        "count": git(repo, "rev-list", "--count", rev),
        "first_parent_trees": git(repo, "log", "--first-parent", "--format=%T", rev).split(),
    }


def diverge(clone: Clone, forge: Forge, tmp_path: Path, local: Sequence[Change], upstream: Sequence[Change]) -> Path:
    """Give the clone's main `local` commits and the forge `upstream` ones; return a plain
    non-bare clone with the same local commits, both fetched."""
    plain = work_clone(forge.url, tmp_path / "plain")  # the same remote URL as the clone's
    for path, content, message in local:
        make_commit(plain, path, content, message)
    git(plain, "push", "--quiet", "--force", str(clone.path), "main:refs/heads/main")
    for path, content, message in upstream:
        forge.commit(path, content, message)
    clone.fetch("origin")
    git(plain, "fetch", "--quiet", "origin")
    return plain


def assert_no_leftovers(clone: Clone) -> None:
    assert git(clone.path, "worktree", "list", "--porcelain").count("worktree ") == 1
    leftovers = clone.path / "gitferry-worktrees"
    assert not leftovers.exists() or not any(leftovers.iterdir())
    assert not (clone.path / "worktrees").exists() or not any((clone.path / "worktrees").iterdir())


LOCAL = [("local.txt", "mine\n", "local work"), ("src/app.py", "print('v2')\n", "app v2")]
UPSTREAM = [("up.txt", "theirs\n", "upstream work"), ("README.md", "hello, world\n", "readme")]


@pytest.mark.parametrize("strategy", ["ff-or-merge", "ff-only", "rebase"])
def test_fast_forward_matches_git(clone: Clone, forge: Forge, tmp_path: Path, strategy: str) -> None:
    plain = diverge(clone, forge, tmp_path, [], UPSTREAM)
    before = clone.branch("main").sha
    result = clone.pull("main", strategy)
    assert (result.outcome, result.before, result.conflicts) == ("fast-forwarded", before, [])
    assert result.after == forge.sha("refs/heads/main") == clone.branch("main").sha
    git(plain, *PLAIN_PULL[strategy])
    assert git(plain, "rev-parse", "HEAD") == result.after


@pytest.mark.parametrize("strategy", ["ff-or-merge", "ff-only", "rebase"])
def test_up_to_date_when_only_ahead(clone: Clone, forge: Forge, tmp_path: Path, strategy: str) -> None:
    diverge(clone, forge, tmp_path, LOCAL, [])
    tip = clone.branch("main").sha
    assert clone.pull("main", strategy).to_dict() == {
        "outcome": "up-to-date",
        "before": tip,
        "after": tip,
        "conflicts": [],
    }


def test_merge_matches_git(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    plain = diverge(clone, forge, tmp_path, LOCAL, UPSTREAM)
    before = clone.branch("main").sha
    result = clone.pull("main", "ff-or-merge")
    assert (result.outcome, result.before) == ("merged", before)
    assert clone.branch("main").sha == result.after
    parents = git(clone.path, "rev-list", "--parents", "-n", "1", result.after).split()[1:]
    assert parents == [before, forge.sha("refs/heads/main")]
    assert git(clone.path, "log", "-1", "--format=%an|%cn", result.after) == "gitferry|gitferry"
    git(plain, *PLAIN_PULL["ff-or-merge"])
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
    # the same message as plain `git pull` (no "into main": git leaves that out for main and master)
    assert git(clone.path, "log", "-1", "--format=%B", result.after) == git(plain, "log", "-1", "--format=%B")
    assert clone.branch("main").ahead == 3 and clone.branch("main").behind == 0


def test_ff_only_reports_diverged(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    plain = diverge(clone, forge, tmp_path, LOCAL, UPSTREAM)
    before = clone.branch("main").sha
    result = clone.pull("main", "ff-only")
    assert (result.outcome, result.before, result.after) == ("diverged", before, before)
    assert clone.branch("main").sha == before
    assert git(plain, *PLAIN_PULL["ff-only"], check=False) == ""  # plain git refuses too
    assert git(plain, "rev-parse", "HEAD") == before


def test_rebase_matches_git(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    plain = diverge(clone, forge, tmp_path, LOCAL, UPSTREAM)
    before = clone.branch("main").sha
    result = clone.pull("main", "rebase")
    assert (result.outcome, result.before) == ("rebased", before)
    assert clone.branch("main").sha == result.after
    git(plain, *PLAIN_PULL["rebase"])
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
    assert git(clone.path, "log", "-1", "--format=%an|%cn", result.after) == "Test Author|gitferry"
    main = clone.branch("main")
    assert (main.ahead, main.behind) == (2, 0)
    assert_no_leftovers(clone)


def test_rebase_drops_commits_already_upstream(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    picked = ("picked.txt", "same change\n", "cherry")
    plain = diverge(clone, forge, tmp_path, [*LOCAL, picked], [*UPSTREAM, picked])
    result = clone.pull("main", "rebase")
    git(plain, *PLAIN_PULL["rebase"])
    assert result.outcome == "rebased"
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
    assert clone.branch("main").ahead == 2


def test_rebase_after_upstream_rewrite_uses_fork_point(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    plain = diverge(clone, forge, tmp_path, [], [("dropped.txt", "x\n", "to be rewritten")])
    # local work on top of an upstream commit that upstream then rewrites away
    git(plain, "merge", "--quiet", "--ff-only", "origin/main")
    for change in LOCAL:
        make_commit(plain, *change)
    git(plain, "push", "--quiet", "--force", str(clone.path), "main:refs/heads/main")
    git(forge.work, "reset", "--quiet", "--hard", "HEAD~1")
    forge.commit("replacement.txt", "y\n", "rewritten", force=True)
    clone.fetch("origin")
    git(plain, "fetch", "--quiet", "origin")

    result = clone.pull("main", "rebase")
    git(plain, *PLAIN_PULL["rebase"])
    assert result.outcome == "rebased"
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
    # a plain `git rebase origin/main` would have replayed the rewritten commit too
    files = git(clone.path, "ls-tree", "-r", "--name-only", "refs/heads/main").split()
    assert "dropped.txt" not in files and "replacement.txt" in files


@pytest.mark.parametrize("strategy", ["ff-or-merge", "rebase"])
def test_conflict_leaves_branch_and_no_leftovers(clone: Clone, forge: Forge, tmp_path: Path, strategy: str) -> None:
    diverge(
        clone,
        forge,
        tmp_path,
        [("README.md", "local readme\n", "l1"), ("src/app.py", "print('local')\n", "l2")],
        [("README.md", "upstream readme\n", "u1"), ("src/app.py", "print('up')\n", "u2")],
    )
    before = clone.branch("main").sha
    result = clone.pull("main", strategy)
    assert result.outcome == "conflict"
    assert (result.before, result.after) == (before, before)
    expected = ["README.md", "src/app.py"] if strategy == "ff-or-merge" else ["README.md"]
    assert result.conflicts == expected
    assert clone.branch("main").sha == before
    assert_no_leftovers(clone)
    assert clone.is_healthy()
    # the next attempt starts from a clean state too
    assert clone.pull("main", strategy).outcome == "conflict"
    assert_no_leftovers(clone)


def test_rebase_cleans_stale_worktree_first(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    diverge(clone, forge, tmp_path, LOCAL, UPSTREAM)
    stale = clone.path / "gitferry-worktrees" / "killed" / "wt"
    git(clone.path, "worktree", "add", "--quiet", "--detach", str(stale), "main")
    assert clone.pull("main", "rebase").outcome == "rebased"
    assert_no_leftovers(clone)


def test_update_branch_creates_missing_local_branch(clone: Clone, forge: Forge) -> None:
    sha = forge.commit("f.txt", "f\n", "feature", branch="feature")
    clone.fetch("origin")
    result = clone.update_branch("feature", "origin", "feature", "ff-only")
    assert result.to_dict() == {
        "outcome": "fast-forwarded",
        "before": "0" * 40,
        "after": sha,
        "conflicts": [],
    }
    assert clone.branch("feature").sha == sha


def test_update_branch_from_other_remote_branch(clone: Clone, forge: Forge) -> None:
    sha = forge.commit("f.txt", "f\n", "feature", branch="feature")
    clone.fetch("origin")
    assert clone.update_branch("main", "origin", "feature", "ff-or-merge").after == sha
    assert clone.branch("main").upstream == "origin/main"  # config untouched


def test_pull_errors(clone: Clone, forge: Forge) -> None:
    clone.create_branch("solo", "main", track=False)
    clone.create_branch("gone", "main", track=False)
    # An upstream never fetched, as config written by hand has it (set_upstream refuses it, as git does).
    git(clone.path, "config", "branch.gone.remote", "origin")
    git(clone.path, "config", "branch.gone.merge", "refs/heads/never-pushed")
    clone.forget()
    for call, code in [
        (lambda: clone.pull("solo", "rebase"), "no_upstream"),
        (lambda: clone.pull("nope", "rebase"), "branch_not_found"),
        (lambda: clone.pull("gone", "ff-only"), "branch_not_found"),
        (lambda: clone.update_branch("main", "nope", "main", "ff-only"), "remote_not_found"),
        (lambda: clone.pull("main", "squash"), "invalid"),
    ]:
        with pytest.raises(GitError) as err:
            call()
        assert err.value.code == code


def test_update_ref_refuses_concurrent_change(clone: Clone, forge: Forge) -> None:
    runner = Runner(clone.config, clone.path)
    main = clone.branch("main").sha
    older = forge.sha("refs/heads/main~1")
    assert older is not None
    with pytest.raises(GitError) as err:
        update_ref(runner, "refs/heads/main", older, older, "test")  # old value is wrong
    assert "changed while" in err.value.message
    assert clone.branch("main").sha == main
