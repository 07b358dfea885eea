"""Scaled out: web, worker and beat as separate processes over Redis and PostgreSQL."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import Forge
from tests.e2e.shards import two_shards
from tests.support.git_http import GitHttpServer
from tests.support.live import Processes
from tests.support.proxy import HoldingProxy
from tests.support.repos import branch_sha


def test_fetch_pull_and_auto_fetch_over_redis(scaled: Processes, forge: Forge) -> None:
    api = scaled.api
    api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": forge.url}, status=201)
    api.wait_repo("acme/widgets")
    new = forge.commit("a.txt", "a\n", "second")
    job = api.run("/api/v1/repos/acme/widgets/pull", {"branch": "main"})
    assert (job["result"]["outcome"], job["result"]["after"]) == ("fast-forwarded", new)

    # auto-fetch: with an interval of 1 s, a new upstream commit shows up without anyone asking
    api.ok("PATCH", "/api/v1/repos/acme/widgets", {"fetch_interval": 1})
    newer = forge.commit("b.txt", "b\n", "third")
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        remote = api.ok("GET", "/api/v1/repos/acme/widgets/branches")["remote_branches"]
        if {"remote": "origin", "name": "main", "sha": newer} in remote:
            break
        time.sleep(0.2)
    else:
        pytest.fail("auto-fetch did not bring the new commit within 8 s")
    scheduled = api.ok("GET", "/api/v1/jobs?repo=acme/widgets&kind=fetch")["jobs"]
    assert any(j["trigger"] == "schedule" and j["state"] == "done" for j in scheduled)


def test_killed_worker_leaves_job_to_run_again(scaled: Processes, forge: Forge) -> None:
    api = scaled.api
    with GitHttpServer(forge.bare.parent) as http:
        host, port = http.netloc.split(":")
        proxy = HoldingProxy((host, int(port)))
        try:
            url = f"http://127.0.0.1:{proxy.port}/{forge.bare.name}"
            created = api.ok("POST", "/api/v1/repos", {"name": "acme/slow", "url": url}, status=201)
            assert proxy.connected.wait(15), scaled.log("worker")
            scaled.stop("worker", signal.SIGKILL)  # in the middle of the clone
            proxy.release()
            scaled.start("worker2", "worker")
            job = api.wait_job(created["job"]["id"], timeout=40)
            assert job["state"] == "done", (job, scaled.log("worker2"))
            assert job["attempts"] == 2
            assert api.wait_repo("acme/slow")["default_branch"] == "main"
            # the clone is usable: the next pull fetches and fast-forwards
            new = forge.commit("c.txt", "c\n", "after the crash")
            job = api.run("/api/v1/repos/acme/slow/pull", {"branch": "main"})
            assert (job["state"], job["result"]["after"]) == ("done", new), job
            assert branch_sha(forge.bare, "main") == new
        finally:
            proxy.close()


def test_repos_are_sharded_so_each_clone_lives_on_one_worker(tmp_path: Path, forge: Forge) -> None:
    with two_shards(tmp_path, ("acme/one", "acme/two", "acme/three"), forge.url) as (procs, disks):  # ids 1, 2, 3
        api = procs.api
        new = forge.commit("s.txt", "s\n", "sharded")
        for name in ("acme/one", "acme/two", "acme/three"):
            job = api.run(f"/api/v1/repos/{name}/pull", {"branch": "main"})
            assert job["result"]["after"] == new, (job, procs.log("worker0"), procs.log("worker1"))
        clones = {shard: sorted(p.name for p in (disk / "repos").glob("*.git")) for shard, disk in disks.items()}
        assert clones == {0: ["2.git"], 1: ["1.git", "3.git"]}
