"""Pushes that look first: the remote's tip learnt by a fetch of its branch, a force leased on the
tip a person confirmed (expect), dry runs; plain git's --force-with-lease is the oracle."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.engine.conftest import Forge, LocalCommits
from tests.support.repos import git, list_refs, work_clone
from workers.git import Clone, FetchResult, RefGone, RefMove


def oracle(forge: Forge, clone: Clone, tmp: Path, expect: str) -> str | None:
    """Where plain git leaves main of a copy of the forge (as it is now) after pushing the
    clone's main with --force-with-lease=refs/heads/main:<expect>; None if git refused."""
    copy = tmp / f"oracle-{expect[:7]}.git"
    shutil.copytree(forge.path, copy)
    work = work_clone(copy, tmp / f"oracle-work-{expect[:7]}")
    git(work, "fetch", "--quiet", str(clone.path), "main:refs/heads/mine")
    git(work, "push", "--quiet", f"--force-with-lease=refs/heads/main:{expect}", "origin", "mine:main", check=False)
    after = git(copy, "rev-parse", "main")
    return after if after == git(work, "rev-parse", "mine") else None


def moved_unseen(clone: Clone, forge: Forge, local_commit: LocalCommits) -> tuple[str, str]:
    """Local main has a commit; upstream main got another that the clone never fetched."""
    local = local_commit("main", "local.txt", "mine\n", "local work")
    remote = forge.commit("up.txt", "theirs\n", "someone else's work")
    return local, remote


def test_a_rejection_shows_the_tip_it_fetched_and_a_force_on_it_goes_through(
        clone: Clone, forge: Forge, local_commit: LocalCommits, tmp_path: Path) -> None:
    local, remote = moved_unseen(clone, forge, local_commit)
    rejected = clone.push("main", look_first=True)
    assert (rejected.outcome, rejected.reason, rejected.before, rejected.force_available) == (
        "rejected", "non-fast-forward", remote, True)
    assert rejected.discarded is not None
    assert [(c.sha, c.subject, c.author.name, c.author.email) for c in rejected.discarded] == [
        (remote, "someone else's work", "Test Author", "author@example.com")]
    assert rejected.discarded[0].author.date.startswith("2024-01-01T12:00:00")
    assert rejected.discarded[0].parents == [git(forge.path, "rev-parse", f"{remote}^")]
    assert forge.sha("refs/heads/main") == remote

    expected = oracle(forge, clone, tmp_path, rejected.before or "")
    forced = clone.push("main", force=True, expect=rejected.before)
    assert (forced.outcome, forced.before, forced.after) == ("pushed", remote, local)
    assert forge.sha("refs/heads/main") == local == expected
    assert forced.backup_ref is not None and git(clone.path, "rev-parse", forced.backup_ref) == remote


def test_a_force_whose_expect_is_not_the_tip_any_more_is_refused_naming_the_tip(
        clone: Clone, forge: Forge, local_commit: LocalCommits, tmp_path: Path) -> None:
    _local, seen = moved_unseen(clone, forge, local_commit)
    newer = forge.commit("up2.txt", "more\n", "moved again")
    assert oracle(forge, clone, tmp_path, seen) is None  # plain git refuses the same lease
    result = clone.push("main", force=True, expect=seen)
    assert (result.outcome, result.reason, result.before) == ("rejected", "stale", newer)
    assert result.message is not None and newer in result.message
    assert forge.sha("refs/heads/main") == newer
    assert list_refs(clone.path, "refs/gitferry") == {}


def test_a_force_on_the_tip_it_fetched_overwrites_what_plain_git_would(
        clone: Clone, forge: Forge, local_commit: LocalCommits, tmp_path: Path) -> None:
    local, remote = moved_unseen(clone, forge, local_commit)
    expected = oracle(forge, clone, tmp_path, remote)
    result = clone.push("main", force=True, look_first=True)
    assert (result.outcome, result.before) == ("pushed", remote)
    assert forge.sha("refs/heads/main") == local == expected
    assert [c.sha for c in result.discarded or []] == [remote]


def test_a_dry_run_says_what_would_happen_and_changes_nothing(
        clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    main = clone.branch("main").sha
    assert clone.push("main", dry_run=True).to_dict() == {
        "outcome": "up-to-date", "remote": "origin", "remote_branch": "main", "before": main, "after": main,
        "arriving": [], "dry_run": True}

    ahead = local_commit("main", "a.txt", "a\n", "ahead")
    result = clone.push("main", dry_run=True)
    assert (result.outcome, result.before, [c.sha for c in result.arriving or []]) == ("fast-forward", main, [ahead])

    clone.create_branch("topic", "main", track=False)
    topic = local_commit("topic", "t.txt", "t\n", "topic")
    created = clone.push("topic", dry_run=True)
    assert (created.outcome, created.before, [c.sha for c in created.arriving or []]) == ("create", None,
                                                                                           [topic, ahead])
    remote = forge.commit("up.txt", "theirs\n", "upstream")
    moved = ("refs/remotes/origin/main", "refs/remotes/origin/HEAD")  # HEAD: a symref to main
    refs_before = {r: s for r, s in list_refs(clone.path).items() if r not in moved}
    rejected = clone.push("main", dry_run=True)
    assert (rejected.outcome, rejected.reason, rejected.before) == ("rejected", "non-fast-forward", remote)
    assert [c.sha for c in rejected.discarded or []] == [remote]
    forced = clone.push("main", dry_run=True, force=True)
    assert (forced.outcome, [c.sha for c in forced.arriving or []]) == ("force", [ahead])

    assert forge.sha("refs/heads/main") == remote and forge.sha("refs/heads/topic") is None
    after = list_refs(clone.path)
    assert after.pop("refs/remotes/origin/main") == remote  # the one ref the fetch of the branch updates
    after.pop("refs/remotes/origin/HEAD")
    assert after == refs_before
    assert clone.branch("topic").upstream is None


def test_backups_outlive_gc(clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    _local, remote = moved_unseen(clone, forge, local_commit)
    result = clone.push("main", force=True, look_first=True)
    assert result.backup_ref is not None
    git(clone.path, "reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all")
    git(clone.path, "gc", "--quiet", "--prune=now")
    assert git(clone.path, "cat-file", "-t", remote) == "commit"
    [kept] = clone.backups()
    assert (kept.ref, kept.sha, kept.remote, kept.branch) == (result.backup_ref, remote, "origin", "main")


def test_a_restore_is_leased_on_the_tip_that_replaced_the_backup(
        clone: Clone, forge: Forge, local_commit: LocalCommits, tmp_path: Path) -> None:
    local, remote = moved_unseen(clone, forge, local_commit)
    clone.push("main", force=True, look_first=True)
    [backup] = clone.backups()
    git(forge.work, "fetch", "--quiet", "origin")
    git(forge.work, "reset", "--quiet", "--hard", "origin/main")
    newer = forge.commit("later.txt", "later\n", "moved since")  # on top of the forced tip
    refused = clone.restore(backup, lease=local)
    assert (refused.outcome, refused.reason, refused.before) == ("rejected", "stale", newer)
    assert forge.sha("refs/heads/main") == newer
    refused = clone.restore(backup, lease=None)  # no tip confirmed: refused, showing it
    assert (refused.outcome, refused.reason, refused.before) == ("rejected", "stale", newer)

    restored = clone.restore(backup, lease=newer)
    assert (restored.outcome, restored.after, restored.backup_ref is not None) == ("pushed", remote, True)
    assert forge.sha("refs/heads/main") == remote
    assert {b.sha for b in clone.backups()} == {remote, newer}  # what it overwrote is kept in turn


def test_a_local_branch_is_reset_to_its_backup_only_from_the_tip_that_replaced_it(
        clone: Clone, local_commit: LocalCommits) -> None:
    old = clone.branch("main").sha
    ref = clone.keep_local_backup("main", old)
    git(clone.path, "update-ref", "refs/heads/main", git(clone.path, "commit-tree", "-m", "rewritten",
                                                             f"{old}^{{tree}}"))
    clone.forget()
    rewritten = clone.branch("main").sha
    [backup] = clone.backups()
    assert (backup.ref, backup.remote, backup.branch, backup.sha) == (ref, None, "main", old)
    assert clone.restore(backup, lease=old).outcome == "rejected"
    assert clone.branch("main").sha == rewritten
    reset = clone.restore(backup, lease=rewritten)
    assert (reset.outcome, reset.before, reset.after) == ("reset", rewritten, old)
    assert clone.branch("main").sha == old
    assert rewritten in {b.sha for b in clone.backups()}


def test_what_the_look_moved_is_told_as_a_fetch_would_tell_it(
        clone: Clone, forge: Forge, local_commit: LocalCommits) -> None:
    heard: list[tuple[str, FetchResult]] = []
    seen = git(clone.path, "rev-parse", "refs/remotes/origin/main")
    _, theirs = moved_unseen(clone, forge, local_commit)
    clone.push("main", look_first=True, fetched=lambda remote, f: heard.append((remote, f)))
    assert heard == [("origin", FetchResult(updated=[RefMove("refs/heads/main", seen, theirs)], deleted=[]))]
    clone.push("main", dry_run=True, fetched=lambda remote, f: heard.append((remote, f)))
    assert len(heard) == 1  # nothing moved since
    topic = forge.commit("t.txt", "t\n", "topic", branch="topic")
    clone.fetch("origin")
    git(forge.work, "push", "--quiet", "origin", ":topic")
    clone.push("main", remote_branch="topic", dry_run=True, fetched=lambda remote, f: heard.append((remote, f)))
    assert heard[1:] == [("origin", FetchResult(updated=[], deleted=[RefGone("refs/heads/topic", topic)]))]
