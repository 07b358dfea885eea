"""A fetch against plain git on a normal clone of the same remote: the same refs after, the same
moves reported as its refs' before and after say, the same remote HEAD learned."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import Forge
from tests.support.repos import file_url, git, init_forge, list_refs, make_commit, push, work_clone
from workers.git import Clone, GitConfig

# What a normal clone fetches when told to take the remote's tags too and prune.
PLAIN_FETCH = ("fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*",
               "+refs/tags/*:refs/tags/*")


def as_remote_names(refs: dict[str, str]) -> dict[str, str]:
    """A normal clone's refs/remotes/origin/x and refs/tags/t, as named on the remote."""
    named = {}
    for ref, sha in refs.items():
        if ref.startswith("refs/remotes/origin/") and ref != "refs/remotes/origin/HEAD":
            named["refs/heads/" + ref.removeprefix("refs/remotes/origin/")] = sha
        elif ref.startswith("refs/tags/"):
            named[ref] = sha
    return named


def plain_fetch(plain: Path) -> tuple[list[tuple[str, str | None, str]], list[tuple[str, str]]]:
    """Fetch in the normal clone; what its refs' before and after say moved and went."""
    before = as_remote_names(list_refs(plain))
    git(plain, *PLAIN_FETCH)
    after = as_remote_names(list_refs(plain))
    moved = [(ref, before.get(ref), sha) for ref, sha in sorted(after.items()) if before.get(ref) != sha]
    gone = [(ref, sha) for ref, sha in sorted(before.items()) if ref not in after]
    return moved, gone


def ours(clone: Clone) -> dict[str, str]:
    """The clone's refs of origin, as named on the remote."""
    refs = list_refs(clone.path)
    named = {"refs/heads/" + r.removeprefix("refs/remotes/origin/"): sha for r, sha in refs.items()
             if r.startswith("refs/remotes/origin/") and r != "refs/remotes/origin/HEAD"}
    named.update({"refs/tags/" + r.removeprefix("refs/remote-tags/origin/"): sha for r, sha in refs.items()
                  if r.startswith("refs/remote-tags/origin/")})
    return named


def remote_head(repo: Path) -> str:
    return git(repo, "symbolic-ref", "refs/remotes/origin/HEAD")


def test_a_fetch_reports_what_plain_git_fetched_ref_by_ref(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    forge.commit("f.txt", "f\n", "feature", branch="feature")
    forge.commit("doomed.txt", "d\n", "doomed", branch="doomed")
    git(forge.work, "tag", "-a", "v1", "-m", "one")
    git(forge.work, "tag", "old")
    push(forge.work, "v1", "old")
    plain = work_clone(forge.url, tmp_path / "plain")
    git(plain, *PLAIN_FETCH)
    clone.fetch("origin")
    assert ours(clone) == as_remote_names(list_refs(plain))

    forge.commit("a.txt", "a\n", "main moves")
    git(forge.work, "checkout", "--quiet", "feature")
    git(forge.work, "reset", "--quiet", "--hard", "HEAD~1")
    forge.commit("g.txt", "g\n", "feature rewritten", branch="feature", force=True)
    forge.commit("n.txt", "n\n", "new branch", branch="new")
    git(forge.work, "tag", "-f", "-a", "v1", "-m", "one, again")
    git(forge.work, "tag", "v2")
    push(forge.work, "v1", "v2", force=True)
    push(forge.work, ":refs/heads/doomed", ":refs/tags/old")

    result = clone.fetch("origin")
    moved, gone = plain_fetch(plain)
    assert [(m.ref, m.old, m.new) for m in result.updated] == moved
    assert [(g.ref, g.old) for g in result.deleted] == gone
    assert {ref for ref, old, _ in moved if old is None} == {"refs/heads/new", "refs/tags/v2"}
    assert {ref for ref, _ in gone} == {"refs/heads/doomed", "refs/tags/old"}
    assert ours(clone) == as_remote_names(list_refs(plain))
    assert result.default_branch == "main" and remote_head(clone.path) == remote_head(plain)
    assert clone.fetch("origin").to_dict() == {"updated": [], "deleted": [], "default_branch": "main"}


def test_a_clone_made_empty_learns_the_default_branch_once_the_remote_has_one(tmp_path: Path,
                                                                                config: GitConfig) -> None:
    bare = init_forge(tmp_path / "empty.git", default_branch="trunk")
    clone = Clone(tmp_path / "c.git", config)
    assert clone.create(file_url(bare)) is None
    plain = work_clone(bare, tmp_path / "plain")  # a normal clone of the empty remote
    assert clone.fetch("origin").default_branch is None  # still nothing to point at

    work = work_clone(bare, tmp_path / "work")
    sha = make_commit(work, "a.txt", "a\n", "first", branch="trunk")
    make_commit(work, "b.txt", "b\n", "aside", branch="aaa")
    push(work, "trunk", "aaa")

    result = clone.fetch("origin")
    git(plain, "fetch", "--quiet", "origin")
    git(plain, "remote", "set-head", "origin", "--auto")
    assert result.default_branch == "trunk"
    assert remote_head(clone.path) == remote_head(plain) == "refs/remotes/origin/trunk"
    # the local branch a clone of the remote now would have, on HEAD, tracking origin's
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "--quiet", file_url(bare), str(fresh))
    assert git(clone.path, "symbolic-ref", "HEAD") == git(fresh, "symbolic-ref", "HEAD") == "refs/heads/trunk"
    branch = clone.branch("trunk")
    assert (branch.sha, branch.upstream, branch.ahead, branch.behind) == (sha, "origin/trunk", 0, 0)
    assert [b.name for b in clone.refs().branches] == ["trunk"]


def test_a_default_branch_gone_from_the_remote_is_followed_to_the_new_one(clone: Clone, forge: Forge,
                                                                           tmp_path: Path) -> None:
    plain = work_clone(forge.url, tmp_path / "plain")
    forge.commit("d.txt", "d\n", "develop", branch="develop")
    git(forge.path, "symbolic-ref", "HEAD", "refs/heads/develop")
    push(forge.work, ":refs/heads/main")

    result = clone.fetch("origin")
    git(plain, "fetch", "--quiet", "--prune", "origin")
    git(plain, "remote", "set-head", "origin", "--auto")
    assert result.default_branch == "develop"
    assert remote_head(clone.path) == remote_head(plain) == "refs/remotes/origin/develop"
    # the clone's own branch stays where it was: a fetch never touches local branches
    assert git(clone.path, "symbolic-ref", "HEAD") == "refs/heads/main" and clone.branch("main").upstream


def test_each_remote_s_head_is_followed_in_its_own_namespace(clone: Clone, tmp_path: Path) -> None:
    fork = init_forge(tmp_path / "fork.git", default_branch="stable")
    work = work_clone(fork, tmp_path / "fork-work")
    make_commit(work, "s.txt", "s\n", "stable", branch="stable")
    push(work, "stable")
    clone.add_remote("fork", file_url(fork))
    assert clone.fetch("fork").default_branch == "stable"
    assert clone.default_branch("fork") == "stable" and clone.default_branch("origin") == "main"
    assert git(clone.path, "symbolic-ref", "HEAD") == "refs/heads/main"  # origin's alone sets the clone's
