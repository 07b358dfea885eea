"""fetch: remote-tracking branches and per-remote tags, what changed, pruning."""

from __future__ import annotations

from tests.engine.conftest import Forge
from tests.support.repos import git, list_refs, push
from workers.git import Clone


def test_fetch_nothing_new(clone: Clone) -> None:
    result = clone.fetch("origin")
    assert (result.updated, result.deleted) == ([], [])


def test_fetch_reports_updates_new_branches_and_tags(clone: Clone, forge: Forge) -> None:
    main_before = clone.branch("main").sha
    new_main = forge.commit("a.txt", "a\n", "a")
    forge.commit("f.txt", "f\n", "feature", branch="feature")
    git(forge.work, "tag", "v1.0")  # lightweight, on feature
    git(forge.work, "tag", "-a", "v2.0", "-m", "release 2")
    push(forge.work, "v1.0", "v2.0")

    result = clone.fetch("origin")
    assert [(m.ref, m.old, m.new) for m in result.updated] == [
        ("refs/heads/feature", None, forge.sha("refs/heads/feature")),
        ("refs/heads/main", main_before, new_main),
        ("refs/tags/v1.0", None, forge.sha("refs/tags/v1.0")),
        ("refs/tags/v2.0", None, forge.sha("refs/tags/v2.0")),
    ]
    assert result.deleted == []
    # local branches are never touched by a fetch
    assert clone.branch("main").sha == main_before
    assert clone.branch("main").behind == 1
    snap = clone.refs()
    assert {(t.remote, t.name) for t in snap.tags} == {("origin", "v1.0"), ("origin", "v2.0")}
    tag2 = next(t for t in snap.tags if t.name == "v2.0")
    assert tag2.sha == forge.sha("refs/tags/v2.0")  # the tag object, not the commit
    assert tag2.sha != new_main
    assert list_refs(clone.path, "refs/tags") == {}


def test_fetch_prunes_deleted_branches_and_tags(clone: Clone, forge: Forge) -> None:
    feature = forge.commit("f.txt", "f\n", "feature", branch="feature")
    git(forge.work, "tag", "old")
    push(forge.work, "old")
    clone.fetch("origin")
    push(forge.work, ":refs/heads/feature", ":refs/tags/old")

    kept = clone.fetch("origin", prune=False)
    assert (kept.updated, kept.deleted) == ([], [])
    assert "refs/remotes/origin/feature" in list_refs(clone.path, "refs/remotes")

    pruned = clone.fetch("origin")
    assert pruned.updated == []
    assert [(g.ref, g.old) for g in pruned.deleted] == [("refs/heads/feature", feature), ("refs/tags/old", feature)]
    assert set(list_refs(clone.path, "refs/remotes")) == {
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    }
    assert list_refs(clone.path, "refs/remote-tags") == {}


def test_fetch_force_pushed_branch_is_updated(clone: Clone, forge: Forge) -> None:
    git(forge.work, "reset", "--quiet", "--hard", "HEAD~1")
    rewritten = forge.commit("other.txt", "x\n", "rewrite", force=True)
    assert [m.ref for m in clone.fetch("origin").updated] == ["refs/heads/main"]
    assert clone.refs().remote_branches[0].sha == rewritten


def test_fetch_unknown_remote(clone: Clone) -> None:
    import pytest

    from workers.git import GitError

    with pytest.raises(GitError) as err:
        clone.fetch("nope")
    assert err.value.code == "remote_not_found"


def test_tags_are_kept_per_remote(clone: Clone, forge: Forge, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.repos import file_url, init_forge

    fork = init_forge(tmp_path / "fork.git")
    git(forge.work, "tag", "v1")
    push(forge.work, "v1")
    git(forge.work, "tag", "-f", "v1", "HEAD~1")
    git(forge.work, "push", "--quiet", str(fork), "main", "v1")
    clone.add_remote("fork", file_url(fork))
    clone.fetch("origin")
    clone.fetch("fork")
    tags = {(t.remote, t.name): t.sha for t in clone.refs().tags}
    assert tags[("origin", "v1")] != tags[("fork", "v1")]


def _recording_git(tmp_path) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """The real git, each call's arguments written to a log first."""
    from pathlib import Path

    calls = Path(tmp_path) / "calls.log"
    fake = Path(tmp_path) / "recording-git"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {calls}\nexec git "$@"\n')
    fake.chmod(0o755)
    return str(fake), lambda: [line for line in calls.read_text().splitlines() if " fetch " in line]


def test_a_fetch_negotiates_from_what_the_remote_sent_before(clone: Clone, forge: Forge, tmp_path,  # type: ignore[no-untyped-def]
                                                             local_commit) -> None:
    """A fetch offers the server only its own branches as last fetched as common history, not
    every local ref (a big rebase, other remotes); a remote fetched for the first time offers
    every ref, as its history is mostly shared with the others."""
    from tests.support.repos import file_url, init_forge
    from workers.git import GitConfig

    for n in range(5):  # local history the server never saw, as a rebase leaves it
        local_commit("main", f"local{n}.txt", f"{n}\n", f"local {n}")
    fork = init_forge(tmp_path / "fork.git")
    git(forge.work, "push", "--quiet", str(fork), "main:main", "main:feature")
    new = forge.commit("b.txt", "b\n", "upstream moves on")
    binary, fetches = _recording_git(tmp_path)
    recorded = Clone(clone.path, GitConfig(allow_protocols=clone.config.allow_protocols, git_binary=binary))

    assert [m.ref for m in recorded.fetch("origin").updated] == ["refs/heads/main"]
    recorded.add_remote("fork", file_url(fork))
    assert [m.ref for m in recorded.fetch("fork").updated] == ["refs/heads/feature", "refs/heads/main"]

    origin, first_of_fork = fetches()
    assert "--negotiation-tip=refs/remotes/origin/*" in origin.split()
    assert "negotiation-tip" not in first_of_fork
    tips = {(b.remote, b.name): b.sha for b in recorded.refs().remote_branches}
    assert tips[("origin", "main")] == new and tips[("fork", "feature")] == tips[("fork", "main")] != new
    recorded.fetch("fork")
    assert "--negotiation-tip=refs/remotes/fork/*" in fetches()[-1].split()
