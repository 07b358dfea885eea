"""Reads of clones over Redis and PostgreSQL with two worker shards: each read is answered by
the worker that holds the clone, matches plain git there, is no job, and is a 503 when that
worker is away; dry runs, a force and the restore of its backup work there as on SQLite."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import Forge
from tests.e2e.shards import two_shards
from tests.support.history import git_log, left_right
from tests.support.repos import git


def test_reads_are_answered_by_the_worker_of_the_repos_shard(tmp_path: Path, forge: Forge) -> None:
    with two_shards(tmp_path, ("acme/one", "acme/two"), forge.url,  # repo ids 1 and 2: shards 1 and 0
                    {"GITFERRY_READ_TIMEOUT": "1"}) as (procs, disks):
        api = procs.api
        for i in range(3):
            forge.commit(f"r{i}.txt", f"{i}\n", f"upstream {i}")
        clones = {"acme/one": disks[1] / "repos" / "1.git", "acme/two": disks[0] / "repos" / "2.git"}
        for name, clone in clones.items():
            api.run(f"/api/v1/repos/{name}/fetch", {})
            jobs = api.ok("GET", f"/api/v1/jobs?repo={name}")["jobs"]
            listed = api.ok("GET", f"/api/v1/repos/{name}/commits?ref=origin/main&limit=2")
            assert listed["commits"] == git_log(clone, "-n", "2", "origin/main"), (procs.log("worker0"),
                                                                                  procs.log("worker1"))
            found = api.ok("GET", f"/api/v1/repos/{name}/compare/main...origin/main")
            assert [c["sha"] for c in found["ahead"]["commits"]] == left_right(clone, "main", "origin/main")[0]
            assert (found["ahead"]["total"], found["behind"]["total"]) == (3, 0)
            assert found["merge_base"] == git(clone, "rev-parse", "main")
            assert api.ok("GET", f"/api/v1/jobs?repo={name}")["jobs"] == jobs  # reads are not jobs
        # Each clone is on its own shard's disk only: the other worker could not have answered.
        assert not (disks[0] / "repos" / "1.git").exists() and not (disks[1] / "repos" / "2.git").exists()

        # Dry runs, a force and its backup, on shard 1's repo: the same over Redis and PostgreSQL.
        one, path = clones["acme/one"], "/api/v1/repos/acme/one"
        before, theirs = git(one, "rev-parse", "main"), git(one, "rev-parse", "origin/main")
        dry = api.run(f"{path}/pull", {"branch": "main", "dry_run": True})["result"]
        assert (dry["outcome"], dry["incoming_count"], dry["after"]) == ("fast-forwarded", 3, before)
        would = api.run(f"{path}/push", {"branch": "main", "dry_run": True})["result"]
        assert would["outcome"] == "rejected"
        assert sorted(c["sha"] for c in would["discarded"]) == sorted(left_right(one, "main", "origin/main")[0])
        assert git(one, "rev-parse", "main") == before and git(forge.bare, "rev-parse", "main") == theirs
        api.run(f"{path}/push", {"branch": "main", "force": True, "expect": theirs})
        [backup] = api.ok("GET", f"{path}/backups")["backups"]
        assert (backup["sha"], backup["remote"], backup["branch"]) == (theirs, "origin", "main")
        restored = api.run(f"{path}/backups/{backup['id']}/restore", {})["result"]
        assert restored["outcome"] == "pushed" and git(forge.bare, "rev-parse", "main") == theirs

        asked = api.ok("GET", f"{path}/commits?ref=main&not=origin/main")
        procs.stop("worker1")
        # Commits named by the shas the snapshot recorded never change: asked again, the web
        # answers as before without the worker; a read it has not had yet waits for one.
        assert api.ok("GET", f"{path}/commits?ref=main&not=origin/main") == asked
        began = time.monotonic()
        response = api.call("GET", "/api/v1/repos/acme/one/commits?limit=3")
        assert (response.status_code, response.json()["error"]["code"]) == (503, "read_unanswered")
        assert response.headers["Retry-After"] and time.monotonic() - began < 3
        assert api.ok("GET", "/api/v1/repos/acme/two/commits")["commits"]  # shard 0 still answers
