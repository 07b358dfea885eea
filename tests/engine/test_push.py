"""push: fast-forward, create with upstream, explicit targets, rejections, force with lease."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import Forge, LocalCommits
from tests.support.repos import git, list_refs
from workers.git import Clone, GitError


def tracking(clone: Clone, ref: str) -> str | None:
    return list_refs(clone.path, "refs/remotes").get(ref)


def diverged(clone: Clone, forge: Forge, local_commit: LocalCommits) -> tuple[str, str]:
    """Local main has one commit, upstream main another; the clone has fetched. (local, remote)"""
    local = local_commit("main", "local.txt", "mine\n", "local")
    remote = forge.commit("up.txt", "theirs\n", "upstream")
    clone.fetch("origin")
    return local, remote


def test_fast_forward_push(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    old = clone.branch("main").sha
    new = local_commit("main", "a.txt", "a\n", "a")
    result = clone.push("main")
    assert result.to_dict() == {
        "outcome": "pushed",
        "remote": "origin",
        "remote_branch": "main",
        "before": old,
        "after": new,
    }
    assert forge.sha("refs/heads/main") == new == tracking(clone, "refs/remotes/origin/main")
    main = clone.branch("main")
    assert (main.upstream, main.ahead, main.behind) == ("origin/main", 0, 0)


def test_push_up_to_date(clone: Clone) -> None:
    sha = clone.branch("main").sha
    result = clone.push("main")
    assert (result.outcome, result.before, result.after) == ("up-to-date", sha, sha)


def test_push_creates_remote_branch_and_sets_upstream(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    clone.create_branch("feature", "main")
    new = local_commit("feature", "f.txt", "f\n", "feature")
    result = clone.push("feature")
    assert (result.outcome, result.before, result.after) == ("created", None, new)
    assert forge.sha("refs/heads/feature") == new == tracking(clone, "refs/remotes/origin/feature")
    assert clone.branch("feature").upstream == "origin/feature"


def test_push_without_setting_upstream(clone: Clone, forge: Forge) -> None:
    clone.create_branch("feature", "main")
    assert clone.push("feature", set_upstream=False).outcome == "created"
    assert clone.branch("feature").upstream is None


def test_explicit_target_leaves_upstream(clone: Clone, forge: Forge) -> None:
    result = clone.push("main", remote_branch="release")
    assert (result.outcome, result.remote, result.remote_branch) == ("created", "origin", "release")
    assert forge.sha("refs/heads/release") == clone.branch("main").sha
    assert clone.branch("main").upstream == "origin/main"

    clone.create_branch("solo", "main")
    clone.push("solo", remote="origin", remote_branch="solo-copy")
    assert clone.branch("solo").upstream is None
    clone.push("solo", remote_branch="solo-copy", set_upstream=True)
    assert clone.branch("solo").upstream == "origin/solo-copy"


def test_push_goes_to_upstream(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    clone.create_branch("topic", "main")
    # An upstream not pushed yet, as config written by hand has it (set_upstream refuses it, as git does).
    git(clone.path, "config", "branch.topic.remote", "origin")
    git(clone.path, "config", "branch.topic.merge", "refs/heads/team/topic")
    clone.forget()
    new = local_commit("topic", "t.txt", "t\n", "topic")
    result = clone.push("topic")
    assert (result.outcome, result.remote_branch) == ("created", "team/topic")
    assert forge.sha("refs/heads/team/topic") == new
    assert forge.sha("refs/heads/topic") is None


def test_push_to_other_remote(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    from tests.support.repos import file_url, init_forge

    fork = init_forge(tmp_path / "fork.git")
    clone.add_remote("fork", file_url(fork))
    result = clone.push("main", remote="fork")
    assert (result.outcome, result.remote) == ("created", "fork")
    assert git(fork, "rev-parse", "main") == clone.branch("main").sha
    assert tracking(clone, "refs/remotes/fork/main") == clone.branch("main").sha
    assert clone.branch("main").upstream == "origin/main"


def test_non_fast_forward_rejected(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    local, remote = diverged(clone, forge, local_commit)
    result = clone.push("main")
    assert result.to_dict() == {
        "outcome": "rejected",
        "remote": "origin",
        "remote_branch": "main",
        "before": remote,
        "after": local,
        "reason": "non-fast-forward",
        "force_available": True,
        "discarded": [{"sha": remote, "parents": [git(clone.path, "rev-parse", f"{remote}^")], "subject": "upstream",
                       "author": {"name": "Test Author", "email": "author@example.com",
                                  "date": "2024-01-01T12:00:00+00:00"},
                       "committed_at": "2024-01-01T12:00:00+00:00"}],
    }
    assert forge.sha("refs/heads/main") == remote


def test_non_fast_forward_rejected_without_fetch(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    local_commit("main", "local.txt", "mine\n", "local")
    remote = forge.commit("up.txt", "theirs\n", "upstream")  # not fetched: "fetch first"
    result = clone.push("main", protected=["main"])
    assert (result.outcome, result.reason, result.force_available) == (
        "rejected",
        "non-fast-forward",
        False,
    )
    assert forge.sha("refs/heads/main") == remote


def test_force_push_with_lease_keeps_backup(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    local, remote = diverged(clone, forge, local_commit)
    result = clone.push("main", force=True, protected=["release/*"])
    assert (result.outcome, result.before, result.after) == ("pushed", remote, local)
    assert result.backup_ref is not None
    assert result.backup_ref.startswith("refs/gitferry/backups/origin/main/")
    assert result.backup_ref.endswith("Z-" + remote[:12])
    assert git(clone.path, "rev-parse", result.backup_ref) == remote
    assert forge.sha("refs/heads/main") == local == tracking(clone, "refs/remotes/origin/main")
    assert "backup_ref" in result.to_dict()


def test_force_push_stale_lease(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    _local, _remote = diverged(clone, forge, local_commit)
    newer = forge.commit("up2.txt", "more\n", "upstream moved again")  # not fetched
    result = clone.push("main", force=True)
    assert (result.outcome, result.reason, result.backup_ref) == ("rejected", "stale", None)
    assert forge.sha("refs/heads/main") == newer
    assert list_refs(clone.path, "refs/gitferry") == {}


def test_force_push_lease_expects_absent_branch(clone: Clone, forge: Forge) -> None:
    forge.commit("x.txt", "x\n", "someone else's", branch="feature")  # not fetched
    clone.create_branch("feature", "main")
    result = clone.push("feature", force=True)
    assert (result.outcome, result.reason) == ("rejected", "stale")
    assert forge.sha("refs/heads/feature") != clone.branch("feature").sha


def test_force_push_to_protected_branch_blocked(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    _local, remote = diverged(clone, forge, local_commit)
    result = clone.push("main", force=True, protected=["ma*", "release/*"])
    assert (result.outcome, result.reason, result.force_available) == (
        "rejected",
        "protected",
        False,
    )
    assert forge.sha("refs/heads/main") == remote
    assert list_refs(clone.path, "refs/gitferry") == {}


def test_force_push_that_fast_forwards(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    new = local_commit("main", "a.txt", "a\n", "a")
    result = clone.push("main", force=True, protected=["main"])
    assert (result.outcome, result.after, result.backup_ref) == ("pushed", new, None)
    assert forge.sha("refs/heads/main") == new
    assert list_refs(clone.path, "refs/gitferry") == {}


def test_push_errors(clone: Clone) -> None:
    for call, code in [
        (lambda: clone.push("nope"), "branch_not_found"),
        (lambda: clone.push("main", remote="nope"), "remote_not_found"),
    ]:
        with pytest.raises(GitError) as err:
            call()
        assert err.value.code == code


def test_push_to_unreachable_remote_is_error(clone: Clone, tmp_path: Path) -> None:
    clone.set_remote_url("origin", (tmp_path / "gone.git").as_uri())
    with pytest.raises(GitError) as err:
        clone.push("main")
    assert err.value.code == "not_found"
