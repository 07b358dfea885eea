"""Real jobs of every kind, run by a live `gitferry serve`: each finished job, as the API shows it,
is valid against the served document's `Job` and its result against its kind's named schema. The
results' values are checked against plain git on the forge."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from service.domain.types import JobKind
from tests.conftest import Forge
from tests.support.contract import check_named
from tests.support.live import Api
from tests.support.repos import branch_sha

Job = dict[str, Any]


def newest(api: Api, repo: str, kind: str, timeout: float = 15) -> Job:
    """The repo's newest job of this kind, once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = api.ok("GET", f"/api/v1/jobs?repo={repo}&kind={kind}")["jobs"]
        if (jobs and jobs[0]["state"] in ("done", "failed")) or time.monotonic() > deadline:
            assert jobs, kind
            return jobs[0]  # type: ignore[no-any-return]
        time.sleep(0.05)


class Checked:
    """The served document, and the finished jobs checked against it so far, by kind."""

    def __init__(self, api: Api):
        self.document = api.ok("GET", "/api/v1/openapi.json")
        self.kinds: set[str] = set()

    def __call__(self, job: Job, state: str = "done") -> Job:
        assert job["state"] == state, job
        if state == "done":  # first the result alone: its errors say more than the whole job's
            check_named(self.document, f"{job['kind'].capitalize()}Result", job["result"])
        check_named(self.document, "Job", job)
        self.kinds.add(job["kind"])
        return job


def test_every_kind_of_job_ends_with_the_result_its_schema_names(api: Api, forge: Forge, repo_name: str,
                                                                  tmp_path: Path) -> None:
    checked = Checked(api)
    added = api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    check_named(checked.document, "Repo", added)
    clone = checked(api.wait_job(added["job"]["id"]))
    assert clone["result"] == {"default_branch": "main", "url": forge.url}

    old = branch_sha(forge.bare, "main")
    new = forge.commit("a.txt", "a\n", "second")
    fetch = checked(api.run(f"/api/v1/repos/{repo_name}/fetch", {}))
    assert fetch["result"] == {"remotes": {"origin": {"updated": [{"ref": "refs/heads/main", "old": old, "new": new}],
                                                      "deleted": [], "default_branch": "main"}}}
    pull = checked(api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "main"}))
    assert (pull["result"]["outcome"], pull["result"]["after"]) == ("fast-forwarded", new)

    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "topic", "start_point": "main",
                                                           "track": False}, status=201)
    assert checked(newest(api, repo_name, "branch"))["result"]["branch"]["upstream"] is None
    api.ok("PUT", f"/api/v1/repos/{repo_name}/branches/topic/upstream", {"remote": "origin", "branch": "main"})
    assert checked(newest(api, repo_name, "upstream"))["result"]["branch"]["upstream"] == "origin/main"
    push = checked(api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "topic", "remote": "origin"}))
    assert push["result"] == {"outcome": "created", "remote": "origin", "remote_branch": "topic", "before": None,
                              "after": branch_sha(forge.bare, "topic")}
    api.ok("DELETE", f"/api/v1/repos/{repo_name}/branches/topic/upstream", status=204)
    assert checked(newest(api, repo_name, "upstream"))["result"]["branch"]["upstream"] is None

    api.ok("POST", f"/api/v1/repos/{repo_name}/rules", {"name": "mirror", "remote": "origin", "branch": "main",
                                                        "local_branch": "mirror", "push_to": "origin"}, status=201)
    moved = forge.commit("b.txt", "b\n", "third")
    checked(api.run(f"/api/v1/repos/{repo_name}/fetch", {}))
    sync = checked(newest(api, repo_name, "sync"))
    assert (sync["result"]["pull"]["after"], sync["result"]["push"]["outcome"]) == (moved, "created")
    assert branch_sha(forge.bare, "mirror") == moved

    theirs = forge.commit("c.txt", "c\n", "someone else's work")  # unseen: a force discards it, kept as a backup
    checked(api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main", "force": True, "expect": theirs}))
    [backup] = api.ok("GET", f"/api/v1/repos/{repo_name}/backups")["backups"]
    restored = checked(api.run(f"/api/v1/repos/{repo_name}/backups/{backup['id']}/restore", {}))
    assert (restored["result"]["outcome"], branch_sha(forge.bare, "main")) == ("pushed", theirs)

    gone = Forge(tmp_path / "gone", "gone")
    gone.commit("README", "x\n", "first")
    remote = api.ok("POST", f"/api/v1/repos/{repo_name}/remotes", {"name": "gone", "url": gone.url}, status=201)
    check_named(checked.document, "AddedRemote", remote)
    checked(api.wait_job(remote["job"]["id"]))
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "g", "start_point": "gone/main"}, status=201)
    shutil.rmtree(gone.bare)  # the remote is gone: its fetch fails, origin's does not
    failed = checked(api.run(f"/api/v1/repos/{repo_name}/fetch", {}), state="failed")
    assert set(failed["result"]["remotes"]) == {"origin", "gone"}
    assert "error" in failed["result"]["remotes"]["gone"]
    failed = checked(api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "g"}), state="failed")
    check_named(checked.document, "FetchResult", failed["result"])  # how far the pull's fetch went
    assert list(failed["result"]["remotes"]) == ["gone"]

    api.ok("DELETE", f"/api/v1/repos/{repo_name}/remotes/gone", status=204)
    assert checked(newest(api, repo_name, "remote"))["result"] == {"remotes": ["origin"]}
    api.ok("DELETE", f"/api/v1/repos/{repo_name}", status=204)
    assert checked(newest(api, repo_name, "remove"))["result"] == {"removed": True}
    assert checked.kinds == set(JobKind)
