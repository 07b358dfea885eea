"""What killed gits leave in a clone is cleared, and what is there on purpose stays; a clone
whose gc was killed packs again; housekeeping within a time limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.conftest import Forge
from tests.support.repos import git
from workers.git import Clone, GitConfig, GitError
from workers.git.clone import HOUSEKEEPING_STOPPED

LEFT_BY_KILLED_GITS = [
    "HEAD.lock", "config.lock", "packed-refs.lock", "gc.pid",
    "refs/heads/main.lock", "refs/remotes/origin/feature/x.lock",
    "objects/maintenance.lock", "objects/info/commit-graph.lock",
    "objects/info/commit-graphs/commit-graph-chain.lock",
    "objects/pack/multi-pack-index.lock", "objects/pack/tmp_pack_Xy12ab", "objects/pack/tmp_idx_Xy12ab",
]


def _plant(clone: Clone, name: str, content: str = "") -> Path:
    path = clone.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def test_locks_temporary_files_and_packs_kept_for_a_fetch_are_cleared(clone: Clone) -> None:
    for name in LEFT_BY_KILLED_GITS:
        _plant(clone, name)
    _plant(clone, "objects/pack/pack-1111.keep", "fetch-pack 4242 on worker-1\n")
    _plant(clone, "objects/pack/pack-2222.keep", "receive-pack 4243 on worker-1\n")
    on_purpose = [_plant(clone, "objects/pack/pack-3333.keep", ""),
                  _plant(clone, "objects/pack/pack-4444.keep", "the release archive: keep it whole\n")]
    half_written = _plant(clone, "objects/ab/tmp_obj_Q1w2e3")

    removed = clone.clear_leftovers()

    assert sorted(removed) == sorted([*LEFT_BY_KILLED_GITS, "objects/pack/pack-1111.keep",
                                      "objects/pack/pack-2222.keep"])
    assert all(path.exists() for path in on_purpose)
    assert half_written.exists()  # looked for after a crash only: 256 folders
    assert clone.clear_leftovers(after_crash=True) == ["objects/ab/tmp_obj_Q1w2e3"]
    assert clone.clear_leftovers() == []
    assert clone.is_healthy() and clone.fetch("origin").updated == []


def test_a_rebase_worktree_of_a_killed_worker_is_cleared_after_a_crash(clone: Clone) -> None:
    left = clone.path / "gitferry-worktrees" / "tmp1" / "wt"
    git(clone.path, "worktree", "add", "--no-checkout", "--detach", str(left), "main")
    assert git(clone.path, "worktree", "list").count("\n") == 1
    clone.clear_leftovers(after_crash=True)
    assert not (clone.path / "gitferry-worktrees").exists()
    assert git(clone.path, "worktree", "list").count("\n") == 0


def test_a_clone_whose_gc_was_killed_packs_again_once_cleared(clone: Clone, forge: Forge) -> None:
    git(clone.path, "config", "transfer.unpackLimit", "1")  # every fetch keeps its own pack
    git(clone.path, "config", "gc.autoPackLimit", "2")
    for n in range(3):
        forge.commit(f"f{n}.txt", f"{n}\n", f"change {n}")
        clone.fetch("origin")
    def packs() -> int:
        return len(list((clone.path / "objects" / "pack").glob("*.pack")))

    assert packs() >= 3
    _plant(clone, "objects/maintenance.lock")  # a gc killed with its worker

    clone.housekeeping()
    assert packs() >= 3  # every maintenance run skips, silently

    assert clone.clear_leftovers() == ["objects/maintenance.lock"]
    clone.housekeeping()
    assert packs() == 1


def _timing_git(tmp_path: Path) -> tuple[str, Path]:
    """A git that runs the real one, except `maintenance`, which takes a minute; its calls logged."""
    calls = tmp_path / "calls.log"
    fake = tmp_path / "slow-maintenance-git"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\ncase "$*" in *" maintenance "*) exec sleep 60;; esac\n'
                    'exec git "$@"\n')
    fake.chmod(0o755)
    return str(fake), calls


def test_housekeeping_is_stopped_at_its_time_limit_and_then_pauses(clone: Clone, tmp_path: Path,
                                                                   config: GitConfig) -> None:
    binary, calls = _timing_git(tmp_path)
    slow = Clone(clone.path, GitConfig(allow_protocols=config.allow_protocols, git_binary=binary, timeout=60))
    slow.limit_time(0.5)
    started = time.monotonic()
    with pytest.raises(GitError) as stopped:
        slow.housekeeping()
    assert stopped.value.code == "job_timeout" and time.monotonic() - started < 5
    assert (clone.path / HOUSEKEEPING_STOPPED).exists()

    slow.limit_time(0.5)
    slow.housekeeping()  # gc that could not finish is not tried again after every job
    assert calls.read_text().count(" maintenance run ") == 1

    (clone.path / HOUSEKEEPING_STOPPED).unlink()
    clone.housekeeping()  # the real git: a run that finishes
    assert not (clone.path / HOUSEKEEPING_STOPPED).exists()
