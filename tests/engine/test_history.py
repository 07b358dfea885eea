"""Commits and comparisons read from a clone, against plain git on the same clone: a criss-cross
merge (two merge bases), unrelated histories, tags and abbreviated shas."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import LocalCommits
from tests.support.history import git_log, left_right
from tests.support.repos import git
from workers.git import Clone, GitError


def merge(clone: Path, branch: str, other: str, message: str) -> str:
    """A merge commit of `other` into `branch`, made in the bare clone with plain git."""
    tree = git(clone, "rev-parse", f"{branch}^{{tree}}")
    sha = git(clone, "commit-tree", tree, "-p", branch, "-p", other, "-m", message)
    git(clone, "update-ref", f"refs/heads/{branch}", sha)
    return sha


def test_a_criss_cross_merge_has_its_merge_base_from_git(clone: Clone, local_commit: LocalCommits) -> None:
    local_commit("a", "a.txt", "1\n", "a1")
    git(clone.path, "branch", "b", "a")
    local_commit("a", "a.txt", "2\n", "a2")
    local_commit("b", "b.txt", "1\n", "b1")
    git(clone.path, "branch", "a-before", "a")
    merge(clone.path, "a", "b", "merge b into a")
    merge(clone.path, "b", "a-before", "merge a into b")
    clone.forget()
    found = clone.compare(clone.resolve("a"), clone.resolve("b"), 50)
    ahead, behind = left_right(clone.path, "a", "b")
    assert ([c.sha for c in found.ahead.commits], [c.sha for c in found.behind.commits]) == (ahead, behind)
    bases = git(clone.path, "merge-base", "--all", "a", "b").split()
    assert len(bases) == 2 and found.merge_base in bases
    assert found.merge_base == git(clone.path, "merge-base", "a", "b")


def test_unrelated_histories_have_no_merge_base(clone: Clone, tmp_path: Path) -> None:
    tree = git(clone.path, "mktree", input="")
    orphan = git(clone.path, "commit-tree", tree, "-m", "orphan")
    git(clone.path, "update-ref", "refs/heads/orphan", orphan)
    clone.forget()
    found = clone.compare(clone.resolve("main"), clone.resolve("orphan"), 1)
    assert (found.merge_base, found.ahead.total, found.behind.total, len(found.behind.commits)) == (None, 1, 2, 1)


def test_refs_resolve_as_a_user_names_them(clone: Clone) -> None:
    main = git(clone.path, "rev-parse", "main")
    git(clone.path, "tag", "-a", "-m", "release", "v1", "main~1")
    clone.forget()
    assert clone.resolve("v1").to_dict() == {"ref": "v1", "kind": "tag", "sha": git(clone.path, "rev-parse", "main~1"),
                                             "remote": None, "branch": None}
    assert clone.resolve(main[:7]).sha == main
    assert (clone.resolve("origin/main").kind, clone.resolve("origin/main").remote) == ("remote_branch", "origin")
    for unknown in ("nope", "origin/nope", "0000000", "nope/main"):
        with pytest.raises(GitError) as caught:
            clone.resolve(unknown)
        assert caught.value.code == "ref_not_found"


def test_pages_follow_git_log_order(clone: Clone, local_commit: LocalCommits) -> None:
    for i in range(5):
        local_commit("main", f"f{i}.txt", f"{i}\n", f"local {i}")
    clone.forget()
    head = clone.resolve("main").sha
    listed, after = [], None
    while True:
        page = clone.commits(head, None, 3, after)
        listed += [c.to_dict() for c in page.commits]
        if page.next is None:
            break
        after = page.next
    assert listed == git_log(clone.path, "main")
    with pytest.raises(GitError) as caught:
        clone.commits(head, head, 3, head)
    assert caught.value.code == "after_not_found"
