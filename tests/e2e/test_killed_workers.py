"""A worker killed (SIGKILL) in the middle of a fetch, a rebase or housekeeping: its gits die
with it, leaving what killed gits leave; the next job on the clone clears that, runs and
succeeds, and the clone packs again.

Each kill lands at a chosen moment: the killed worker runs git with one of git's hooks turned
on (gitferry runs git with hooks off), which marks that git got there and waits.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from tests.conftest import Forge
from tests.support.live import Processes
from tests.support.repos import branch_sha, git, list_refs, work_clone


def _hooked_git(root: Path, hook: str, when: str = "true") -> tuple[dict[str, str], Path]:
    """PATH for a worker whose gits run `hook` (its first argument checked by `when`); the hook
    touches the file returned, then waits for the kill."""
    real = shutil.which("git")
    assert real is not None
    hooks, bin_dir, reached = root / "hooks", root / "bin", root / "hook-reached"
    hooks.mkdir(parents=True)
    bin_dir.mkdir()
    (hooks / hook).write_text(f'#!/bin/sh\n{when} || exit 0\ntouch {reached}\nexec sleep 60\n')
    (bin_dir / "git").write_text(
        "#!/bin/sh\n"
        "n=$#\n"
        'while [ "$n" -gt 0 ]; do\n'
        f'  a=$1; shift; n=$((n - 1)); [ "$a" = core.hooksPath=/dev/null ] && a=core.hooksPath={hooks}\n'
        '  set -- "$@" "$a"\n'
        "done\n"
        f'exec {real} "$@"\n')
    for script in (hooks / hook, bin_dir / "git"):
        script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, reached


def _killed_when(procs: Processes, reached: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not reached.exists():
        assert time.monotonic() < deadline, procs.log("hooked")
        time.sleep(0.02)
    procs.stop("hooked", signal.SIGKILL)


def _ready_repo(procs: Processes, forge: Forge) -> Path:
    procs.api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": forge.url}, status=201)
    procs.api.wait_repo("acme/widgets")
    return procs.data_dir / "repos" / "1.git"


def _hooked_worker(procs: Processes, env: dict[str, str]) -> None:
    procs.stop("worker")
    procs.start("hooked", "worker", env=env)


def test_killed_mid_fetch_the_job_runs_again_past_the_locks_it_left(scaled: Processes, forge: Forge,
                                                                     tmp_path: Path) -> None:
    clone = _ready_repo(scaled, forge)
    git(clone, "config", "transfer.unpackLimit", "1")  # the fetch keeps its pack (.keep) till its refs are in
    new = forge.commit("a.txt", "a\n", "second")
    env, reached = _hooked_git(tmp_path, "reference-transaction", when='[ "$1" = prepared ]')
    _hooked_worker(scaled, env)
    job = scaled.api.ok("POST", "/api/v1/repos/acme/widgets/fetch", {})["job"]
    _killed_when(scaled, reached)  # the fetch holds its ref locks
    left = sorted(str(p.relative_to(clone)) for p in clone.rglob("*") if p.suffix in (".lock", ".keep"))
    assert "refs/remotes/origin/main.lock" in left and any(p.endswith(".keep") for p in left), left

    scaled.start("worker2", "worker")
    done = scaled.api.wait_job(job["id"], timeout=40)  # its lease runs out; the beat sends it again
    assert (done["state"], done["attempts"]) == ("done", 2), (done, scaled.log("worker2"))
    assert [m["ref"] for m in done["result"]["remotes"]["origin"]["updated"]] == ["refs/heads/main"]
    assert list_refs(clone, "refs/remotes/origin")["refs/remotes/origin/main"] == new
    assert not [p for p in clone.rglob("*") if p.suffix in (".lock", ".keep")]
    assert "leftover_removed" in scaled.log("worker2")


def test_killed_mid_rebase_the_pull_runs_again_and_rebases(scaled: Processes, forge: Forge, tmp_path: Path) -> None:
    clone = _ready_repo(scaled, forge)
    scratch = work_clone(clone, tmp_path / "scratch")
    for n in range(3):  # local work, to be rebased onto what upstream does meanwhile
        (scratch / f"local{n}.txt").write_text(f"{n}\n")
        git(scratch, "add", ".")
        git(scratch, "commit", "--quiet", "-m", f"local {n}")
    git(scratch, "push", "--quiet", "origin", "main")
    upstream = forge.commit("up.txt", "up\n", "upstream moves on")
    env, reached = _hooked_git(tmp_path, "post-checkout")  # the rebase has checked out its base
    _hooked_worker(scaled, env)
    job = scaled.api.ok("POST", "/api/v1/repos/acme/widgets/pull", {"branch": "main", "strategy": "rebase"})["job"]
    _killed_when(scaled, reached)
    assert list(clone.glob("worktrees/*/rebase-merge")), "the rebase was under way"

    scaled.start("worker2", "worker")
    done = scaled.api.wait_job(job["id"], timeout=40)
    assert (done["state"], done["attempts"], done["result"]["outcome"]) == ("done", 2, "rebased"), \
        (done, scaled.log("worker2"))
    after = branch_sha(clone, "main")
    assert after == done["result"]["after"]
    assert git(clone, "rev-list", "--count", f"{upstream}..{after}") == "3"
    assert git(clone, "worktree", "list").count("\n") == 0  # the bare clone alone
    again = scaled.api.run("/api/v1/repos/acme/widgets/fetch", {})
    assert again["state"] == "done", again


def test_killed_mid_housekeeping_the_clone_packs_again(scaled: Processes, forge: Forge, tmp_path: Path) -> None:
    clone = _ready_repo(scaled, forge)
    git(clone, "repack", "-a", "-d", "-q")  # one pack
    git(clone, "config", "transfer.unpackLimit", "1")  # each fetch leaves a pack of its own
    git(clone, "config", "gc.autoPackLimit", "1")  # and a second pack makes gc due

    def packs() -> int:
        return len(list((clone / "objects" / "pack").glob("*.pack")))

    env, reached = _hooked_git(tmp_path, "pre-auto-gc")  # gc is due, maintenance holds its lock
    _hooked_worker(scaled, env)
    forge.commit("a.txt", "a\n", "second")
    first = scaled.api.run("/api/v1/repos/acme/widgets/fetch", {})
    assert first["state"] == "done", first  # answered before housekeeping
    _killed_when(scaled, reached)
    assert (clone / "objects" / "maintenance.lock").exists() and packs() == 2

    scaled.start("worker2", "worker")
    newer = forge.commit("b.txt", "b\n", "third")
    second = scaled.api.run("/api/v1/repos/acme/widgets/fetch", {})
    assert second["state"] == "done"
    assert [m["ref"] for m in second["result"]["remotes"]["origin"]["updated"]] == ["refs/heads/main"]
    deadline = time.monotonic() + 30
    # Housekeeping follows the answer; it holds its lock until it has done more than the packing.
    while packs() != 1 or (clone / "objects" / "maintenance.lock").exists():
        assert time.monotonic() < deadline, (packs(), scaled.log("worker2"))
        time.sleep(0.1)
    assert list_refs(clone, "refs/remotes/origin")["refs/remotes/origin/main"] == newer
