"""refs snapshot, ahead/behind, branches and upstreams."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.engine.conftest import Forge, LocalCommits
from tests.support.repos import git
from workers.git import Branch, Clone, GitError


def test_ahead_behind(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    local_commit("main", "local1.txt", "1\n", "local 1")
    local_commit("main", "local2.txt", "2\n", "local 2")
    forge.commit("up.txt", "u\n", "upstream")
    clone.fetch("origin")
    main = clone.branch("main")
    assert (main.upstream, main.ahead, main.behind) == ("origin/main", 2, 1)
    assert clone.refs().branches == [main]


def test_gone_upstream_and_no_upstream(clone: Clone, forge: Forge) -> None:
    forge.commit("f.txt", "f\n", "feature", branch="feature")
    clone.fetch("origin")
    clone.create_branch("feature", "origin/feature")
    clone.create_branch("solo", "main", track=True)  # local start point: no upstream
    git(forge.path, "update-ref", "-d", "refs/heads/feature")
    clone.fetch("origin")
    feature = clone.branch("feature")
    assert (feature.upstream, feature.ahead, feature.behind, feature.gone) == ("origin/feature", None, None, True)
    solo = clone.branch("solo")
    assert (solo.upstream, solo.ahead, solo.behind, solo.gone) == (None, None, None, False)


def test_snapshot_to_dict(clone: Clone, forge: Forge) -> None:
    git(forge.work, "tag", "v1")
    git(forge.work, "push", "--quiet", "origin", "v1")
    clone.fetch("origin")
    sha = forge.sha("refs/heads/main")
    assert clone.refs().to_dict() == {
        "branches": [{"name": "main", "sha": sha, "upstream": "origin/main", "ahead": 0, "behind": 0, "gone": False}],
        "remote_branches": [{"remote": "origin", "name": "main", "sha": sha}],
        "tags": [{"remote": "origin", "name": "v1", "sha": sha}],
        "pending": False,
    }


def test_a_fetch_leaves_the_ahead_behind_it_moved_for_later(clone: Clone, forge: Forge) -> None:
    clone.create_branch("topic", "origin/main", track=True)
    forge.commit("n.txt", "n\n", "upstream moves")
    clone.fetch("origin")
    quick = clone.refs(distances=False)
    assert quick.pending
    assert {b.name: (b.ahead, b.behind) for b in quick.branches} == {"main": (None, None), "topic": (None, None)}
    whole = clone.refs()
    assert not whole.pending
    assert {b.name: (b.ahead, b.behind) for b in whole.branches} == {"main": (0, 1), "topic": (0, 1)}
    assert clone.refs(distances=False) is whole  # once known, they are not lost again


def test_create_branch_from_remote_local_and_sha(clone: Clone, forge: Forge) -> None:
    first = forge.sha("refs/heads/main~1")
    assert first is not None
    forge.commit("f.txt", "f\n", "feature", branch="feature")
    clone.fetch("origin")

    from_remote = clone.create_branch("feat", "origin/feature")
    assert from_remote == Branch("feat", forge.sha("refs/heads/feature") or "", "origin/feature", 0, 0)
    untracked = clone.create_branch("feat2", "origin/feature", track=False)
    assert untracked.upstream is None
    from_local = clone.create_branch("copy", "main")
    assert (from_local.sha, from_local.upstream) == (clone.branch("main").sha, None)
    assert clone.create_branch("old", first).sha == first
    assert clone.create_branch("old-short", first[:8]).sha == first

    for name, start, code in [
        ("main", "origin/feature", "branch_exists"),
        ("x", "origin/nope", "start_point_not_found"),
        ("x", "nope/main", "start_point_not_found"),
        ("x", "deadbeef", "start_point_not_found"),
        ("x", "HEAD~1", "invalid"),
    ]:
        with pytest.raises(GitError) as err:
            clone.create_branch(name, start)
        assert err.value.code == code, (name, start)


def test_create_branch_start_point_not_a_commit(clone: Clone, forge: Forge) -> None:
    tree = git(forge.path, "rev-parse", "main^{tree}")
    with pytest.raises(GitError) as err:
        clone.create_branch("x", tree)
    assert err.value.code == "start_point_not_found"


def test_branch_lookup_is_exact(clone: Clone) -> None:
    clone.create_branch("a/b", "main")
    with pytest.raises(GitError) as err:
        clone.branch("a")
    assert err.value.code == "branch_not_found"
    assert clone.branch("a/b").name == "a/b"


def test_set_and_unset_upstream(clone: Clone, forge: Forge) -> None:
    clone.create_branch("topic", "main", track=False)
    topic = clone.set_upstream("topic", "origin", "main")
    assert (topic.upstream, topic.ahead, topic.behind) == ("origin/main", 0, 0)
    clone.unset_upstream("topic")
    assert clone.branch("topic").upstream is None
    clone.unset_upstream("topic")  # already unset: fine

    for call, code in [
        (lambda: clone.set_upstream("topic", "nope", "main"), "remote_not_found"),
        (lambda: clone.set_upstream("topic", "origin", "not-pushed-yet"), "upstream_not_found"),
        (lambda: clone.set_upstream("nope", "origin", "main"), "branch_not_found"),
        (lambda: clone.unset_upstream("nope"), "branch_not_found"),
    ]:
        with pytest.raises(GitError) as err:
            call()
        assert err.value.code == code


def test_refs_is_fast_on_2000_branches(clone: Clone, forge: Forge) -> None:
    main = clone.branch("main").sha
    parent = forge.sha("refs/heads/main~1")
    lines = []
    config = []
    for n in range(2000):
        lines.append(f"create refs/heads/b{n:04d} {parent if n % 2 else main}\n")
        lines.append(f"create refs/remotes/origin/b{n:04d} {main}\n")
        config.append(f'[branch "b{n:04d}"]\n\tremote = origin\n\tmerge = refs/heads/b{n:04d}\n')
    git(clone.path, "update-ref", "--stdin", input="".join(lines))
    with open(clone.path / "config", "a") as fh:
        fh.write("".join(config))
    clone.forget()
    started = time.monotonic()
    snap = clone.refs()
    elapsed = time.monotonic() - started
    assert len(snap.branches) == 2001 and len(snap.remote_branches) == 2001
    behind = [b for b in snap.branches if b.name.startswith("b") and b.behind == 1]
    assert len(behind) == 1000
    assert elapsed < 5, elapsed


def test_snapshot_as_json_has_every_field_of_its_records(clone: Clone) -> None:
    git(clone.path, "update-ref", "refs/remote-tags/origin/v1", clone.branch("main").sha)
    clone.forget()
    snap = clone.refs()
    assert snap.tags and snap.branches and snap.remote_branches
    assert snap.to_dict() == dataclasses.asdict(snap)
