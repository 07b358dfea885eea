"""Branches and upstreams as git does them: plain git on a normal clone of the same history is
the oracle for the refs made, the upstreams configured and the refusals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.engine.conftest import Forge
from tests.support.repos import GIT_ENV, file_url, git, init_forge, list_refs, work_clone
from workers.git import Clone, GitError
from workers.git.refs import update_ref, zero_sha


@pytest.fixture
def plain(forge: Forge, tmp_path: Path) -> Path:
    """A normal clone of the forge, made and used with plain git."""
    return work_clone(forge.url, tmp_path / "plain")


def plain_git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Plain git that may refuse: its exit code and words are the oracle."""
    return subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True)


def heads(repo: Path) -> dict[str, str]:
    return list_refs(repo, "refs/heads/")


def upstreams(repo: Path) -> dict[str, str]:
    """branch.<name>.remote and .merge settings, as git config lists them."""
    out = git(repo, "config", "--get-regexp", r"^branch\..*\.(remote|merge)$", check=False)
    return dict(line.split(" ", 1) for line in out.splitlines())


def refused(call) -> GitError:  # type: ignore[no-untyped-def]
    with pytest.raises(GitError) as err:
        call()
    return err.value


def test_a_branch_where_a_branch_is_a_folder_or_the_other_way_round_is_refused_naming_the_branch(
        clone: Clone, plain: Path) -> None:
    clone.create_branch("a/b", "origin/main")
    assert plain_git(plain, "branch", "a/b", "origin/main").returncode == 0
    for name, existing in [("main/x", "main"), ("a", "a/b")]:
        says = plain_git(plain, "branch", name, "origin/main")
        assert says.returncode == 128 and f"'refs/heads/{existing}' exists; cannot create" in says.stderr
        err = refused(lambda name=name: clone.create_branch(name, "origin/main"))
        assert err.code == "ref_conflict", err
        assert f"cannot create branch {name!r}: branch {existing!r} exists" in err.message
    assert heads(clone.path) == heads(plain)


def test_names_are_limited_per_part_as_the_file_system_limits_git(clone: Clone, plain: Path, forge: Forge) -> None:
    fits = ["x" * 250, "y" * 255 + "/z", "é" * 125, "p/" * 120 + "q" * 250]  # the last: 490 bytes in all
    too_long = ["x" * 251, "y" * 256 + "/z", "é" * 126]
    for name in fits:
        assert plain_git(plain, "branch", "--no-track", name, "origin/main").returncode == 0, name
        clone.create_branch(name, "origin/main", track=False)
    for name in too_long:
        says = plain_git(plain, "branch", "--no-track", name, "origin/main")
        # "File name too long" for a file; for a folder only "unable to create directory"
        assert says.returncode == 128 and f"cannot lock ref 'refs/heads/{name}'" in says.stderr, name
        err = refused(lambda name=name: clone.create_branch(name, "origin/main"))
        assert (err.code, "too long for git to store" in err.message) == ("invalid", True), err
    assert heads(clone.path) == heads(plain)
    # Where only git finds out (a clone deep in the file system), git's reason is told, not a race.
    sha = forge.sha("refs/heads/main") or ""
    for name in too_long:
        err = refused(lambda name=name: update_ref(clone._git, f"refs/heads/{name}", sha, zero_sha(sha), "test"))
        assert err.code == "name_too_long" and "too long" in err.message, err


def test_a_failed_update_of_a_ref_that_moved_is_still_a_race(clone: Clone, forge: Forge) -> None:
    sha = forge.sha("refs/heads/main") or ""
    err = refused(lambda: update_ref(clone._git, "refs/heads/main", sha, "1" * 40, "test"))
    assert err.code == "ref_changed" and "changed while gitferry was updating it" in err.message


def test_a_start_point_named_as_git_lists_it_works_however_long(clone: Clone, plain: Path, forge: Forge) -> None:
    long_name = "team/" + "x" * 250  # origin/<it> is 262 characters
    forge.commit("long.txt", "long\n", "long", branch=long_name)
    clone.fetch("origin")
    git(plain, "fetch", "--quiet", "origin")
    assert plain_git(plain, "branch", "long", f"origin/{long_name}").returncode == 0
    made = clone.create_branch("long", f"origin/{long_name}")
    assert (made.upstream, made.sha) == (f"origin/{long_name}", forge.sha(f"refs/heads/{long_name}"))
    assert heads(clone.path) == heads(plain)
    assert upstreams(clone.path) == upstreams(plain)


def test_an_upstream_not_on_the_remote_is_refused_until_it_is_fetched(
        clone: Clone, plain: Path, forge: Forge) -> None:
    git(plain, "branch", "--no-track", "topic", "origin/main")
    clone.create_branch("topic", "origin/main", track=False)
    says = plain_git(plain, "branch", "--set-upstream-to=origin/does-not-exist", "topic")
    assert says.returncode == 128 and "upstream branch 'origin/does-not-exist' does not exist" in says.stderr
    assert 'run "git fetch"' in says.stderr
    err = refused(lambda: clone.set_upstream("topic", "origin", "does-not-exist"))
    assert err.code == "upstream_not_found"
    assert "'origin/does-not-exist' does not exist" in err.message and "fetch origin" in err.message
    assert upstreams(clone.path) == upstreams(plain)

    forge.commit("late.txt", "late\n", "pushed later", branch="does-not-exist")
    git(plain, "fetch", "--quiet", "origin")
    git(plain, "branch", "--quiet", "--set-upstream-to=origin/does-not-exist", "topic")
    clone.fetch("origin")
    assert clone.set_upstream("topic", "origin", "does-not-exist").upstream == "origin/does-not-exist"
    assert upstreams(clone.path) == upstreams(plain)


def test_a_start_point_that_names_a_local_and_a_remote_branch_is_refused_but_full_refs_are_taken(
        clone: Clone, plain: Path, forge: Forge, tmp_path: Path) -> None:
    mine = init_forge(tmp_path / "mine.git")
    git(forge.work, "push", "--quiet", file_url(mine), "main~1:refs/heads/work")
    git(plain, "remote", "add", "mine", file_url(mine))
    git(plain, "fetch", "--quiet", "mine")
    git(plain, "branch", "--no-track", "mine/work", "origin/main")
    clone.add_remote("mine", file_url(mine))
    clone.fetch("mine")
    clone.create_branch("mine/work", "origin/main", track=False)

    says = plain_git(plain, "branch", "x", "mine/work")
    assert says.returncode == 128 and "ambiguous" in says.stderr
    err = refused(lambda: clone.create_branch("x", "mine/work"))
    assert err.code == "ambiguous_start_point"
    assert "refs/heads/mine/work" in err.message and "refs/remotes/mine/work" in err.message

    for name, start in [("theirs", "refs/remotes/mine/work"), ("ours", "refs/heads/mine/work")]:
        git(plain, "branch", "--quiet", name, start)
        clone.create_branch(name, start)
    assert heads(clone.path) == heads(plain)
    assert upstreams(clone.path) == upstreams(plain)
    assert clone.branch("theirs").upstream == "mine/work" and clone.branch("ours").upstream is None


def test_an_upstream_deleted_on_the_remote_is_gone_as_git_tracks_it(clone: Clone, plain: Path, forge: Forge) -> None:
    for branch in ("doomed", "kept"):
        forge.commit(f"{branch}.txt", "x\n", branch, branch=branch)
    git(plain, "fetch", "--quiet", "origin")
    clone.fetch("origin")
    for branch in ("doomed", "kept"):
        git(plain, "branch", "--quiet", branch, f"origin/{branch}")
        clone.create_branch(branch, f"origin/{branch}")
    git(forge.path, "update-ref", "-d", "refs/heads/doomed")
    git(plain, "fetch", "--quiet", "--prune", "origin")
    clone.fetch("origin")

    track = git(plain, "for-each-ref", "--format=%(refname:short) %(upstream:track)", "refs/heads/")
    git_gone = {line.split(" ")[0] for line in track.splitlines() if line.endswith("[gone]")}
    snapshot = clone.refs()
    assert git_gone == {b.name for b in snapshot.branches if b.gone} == {"doomed"}
    doomed = clone.branch("doomed")
    assert (doomed.upstream, doomed.ahead, doomed.behind) == ("origin/doomed", None, None)
    assert snapshot.to_dict()["branches"][0]["gone"] is True
