"""The commit graph's read: every branch, remote branch and tag in git's --topo-order, with parents and
the refs at each commit; plain git on the same clone is the oracle."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import Forge, LocalCommits
from tests.support.repos import git
from workers.git import Clone, GitConfig


def test_the_graph_lists_all_refs_history_children_first_with_the_refs_at_each(
        clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    mine = local_commit("main", "mine.txt", "1\n", "mine <b>")
    forge.commit("theirs.txt", "1\n", "theirs", branch="side")
    git(forge.path, "tag", "-a", "-m", "release", "v1", "main")
    clone.fetch("origin")
    clone.forget()
    page = clone.graph(limit=50)
    order = git(clone.path, "rev-list", "--topo-order", "--branches", "--remotes", "--tags",
                "--glob=refs/remote-tags").split()
    assert [c.sha for c in page.commits] == order and not page.more
    by_date = git(clone.path, "rev-list", "--date-order", "--branches", "--remotes", "--tags",
                  "--glob=refs/remote-tags").split()
    assert [c.sha for c in clone.graph(limit=50, order="date").commits] == by_date
    first = page.commits[0]
    assert (first.sha, first.subject, first.parents) == (mine, "mine <b>", [git(clone.path, "rev-parse", "main~1")])
    refs = {c.sha: {(r.kind, r.name, r.remote) for r in c.refs} for c in page.commits}
    assert refs[mine] == {("branch", "main", None)}
    assert refs[git(clone.path, "rev-parse", "origin/main")] == {("remote_branch", "main", "origin"),
                                                                 ("tag", "v1", "origin")}  # no origin/HEAD
    assert refs[git(clone.path, "rev-parse", "origin/side")] == {("remote_branch", "side", "origin")}


def test_the_graph_pages_with_skip_and_says_when_there_is_more(clone: Clone) -> None:
    order = git(clone.path, "rev-list", "--topo-order", "--branches", "--remotes").split()
    assert len(order) == 2
    first, rest = clone.graph(limit=1), clone.graph(limit=1, skip=1)
    assert ([c.sha for c in first.commits], first.more) == (order[:1], True)
    assert ([c.sha for c in rest.commits], rest.more) == (order[1:], False)


def test_an_empty_clone_has_no_commits_to_show(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--bare", "empty.git")
    page = Clone(tmp_path / "empty.git", GitConfig()).graph(limit=200)
    assert (page.commits, page.more) == ([], False)
