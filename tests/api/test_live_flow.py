"""A user's day against a live `gitferry serve`: add a repo, fetch, pull, push, upstreams, jobs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import Forge
from tests.support.live import Api, Processes
from tests.support.repos import branch_sha, git, push


def add_repo(api: Api, name: str, forge: Forge, **extra: object) -> dict:
    created = api.ok("POST", "/api/v1/repos", {"name": name, "url": forge.url, **extra}, status=201)
    assert created["state"] == "cloning"
    return api.wait_repo(name)


def branches(api: Api, name: str) -> dict:
    return {b["name"]: b for b in api.ok("GET", f"/api/v1/repos/{name}/branches")["branches"]}


def test_add_repo_clones_and_tracks_default_branch(api: Api, forge: Forge, repo_name: str) -> None:
    repo = add_repo(api, repo_name, forge)
    assert repo["default_branch"] == "main"
    (origin,) = repo["remotes"]
    assert (origin["name"], origin["url"], origin["provider"], origin["web_url"]) == \
        ("origin", forge.url, "other", None)
    assert (origin["last_error"], origin["backing_off"]) == (None, False)
    assert origin["last_success_at"] is not None and repo["failing_remotes"] == []  # the clone fetched it
    main = branches(api, repo_name)["main"]
    assert main == {"name": "main", "sha": branch_sha(forge.bare, "main"), "upstream": "origin/main",
                    "ahead": 0, "behind": 0, "gone": False}


def test_fetch_shows_behind_then_pull_fast_forwards(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    new = forge.commit("a.txt", "a\n", "second")
    job = api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    assert job["state"] == "done", job
    assert [m["ref"] for m in job["result"]["remotes"]["origin"]["updated"]] == ["refs/heads/main"]
    assert branches(api, repo_name)["main"]["behind"] == 1
    # fetching never touches local branches
    assert branches(api, repo_name)["main"]["sha"] != new

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "main"})
    assert job["result"]["outcome"] == "fast-forwarded"
    assert job["result"]["after"] == new
    assert branches(api, repo_name)["main"] == {"name": "main", "sha": new, "upstream": "origin/main",
                                                "ahead": 0, "behind": 0, "gone": False}


def diverged_branch(api: Api, repo: str, forge: Forge, name: str, side: str) -> None:
    """Local branch `name` at origin/<side> (own commits) with origin/main (moved on) as upstream."""
    api.run(f"/api/v1/repos/{repo}/fetch", {})
    api.ok("POST", f"/api/v1/repos/{repo}/branches", {"name": name, "start_point": f"origin/{side}"},
           status=201)
    api.ok("PUT", f"/api/v1/repos/{repo}/branches/{name}/upstream", {"remote": "origin", "branch": "main"})


def test_pull_strategies_on_diverged_branch(api: Api, forge: Forge, repo_name: str) -> None:
    base = branch_sha(forge.bare, "main")
    own = forge.commit("side.txt", "side\n", "own work", branch="side")
    forge.commit("conflict.txt", "mine\n", "conflicting work", branch="clash")
    git(forge.work, "checkout", "-q", "main")
    up = forge.commit("up.txt", "upstream\n", "upstream change", branch="main")
    forge.commit("conflict.txt", "theirs\n", "upstream conflicting", branch="main")
    add_repo(api, repo_name, forge)
    for name in ("ffonly", "merge", "rebase"):
        diverged_branch(api, repo_name, forge, name, "side")
    diverged_branch(api, repo_name, forge, "clash", "clash")
    assert (branches(api, repo_name)["merge"]["ahead"], branches(api, repo_name)["merge"]["behind"]) == (1, 2)

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "ffonly", "strategy": "ff-only"})
    assert job["result"]["outcome"] == "diverged"
    assert branches(api, repo_name)["ffonly"]["sha"] == own

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "merge", "strategy": "ff-or-merge"})
    assert job["result"]["outcome"] == "merged"
    merged = branches(api, repo_name)["merge"]
    assert (merged["ahead"], merged["behind"]) == (2, 0)

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "rebase", "strategy": "rebase"})
    assert job["result"]["outcome"] == "rebased"
    rebased = branches(api, repo_name)["rebase"]
    assert (rebased["ahead"], rebased["behind"]) == (1, 0)

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "clash", "strategy": "rebase"})
    assert job["state"] == "done"
    assert (job["result"]["outcome"], job["result"]["conflicts"]) == ("conflict", ["conflict.txt"])
    assert branches(api, repo_name)["clash"]["behind"] == 2
    assert base and up


def test_push_creates_remote_branch_and_sets_upstream(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "feature", "start_point": "main",
                                                           "track": False}, status=201)
    assert branches(api, repo_name)["feature"]["upstream"] is None
    job = api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "feature"})
    assert job["result"]["outcome"] == "created", job
    assert branch_sha(forge.bare, "feature") == branch_sha(forge.bare, "main")
    assert branches(api, repo_name)["feature"]["upstream"] == "origin/feature"


def test_push_non_fast_forward_is_refused_then_forced_with_backup(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    forge.commit("x.txt", "x\n", "upstream moves")
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    # the service's main is now behind; pushing it would rewind the forge
    job = api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main"})
    assert job["result"]["outcome"] == "rejected"
    assert job["result"]["reason"] == "non-fast-forward"
    assert job["result"]["force_available"] is True
    upstream_tip = branch_sha(forge.bare, "main")

    job = api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main", "force": True})
    assert job["result"]["outcome"] == "pushed", job
    assert job["result"]["backup_ref"].startswith("refs/gitferry/backups/origin/main/")
    assert branch_sha(forge.bare, "main") == job["result"]["after"] != upstream_tip


def test_protected_branch_cannot_be_forced(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge, protected_branches=["ma*"])
    forge.commit("x.txt", "x\n", "upstream moves")
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    job = api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main"})
    assert job["result"]["force_available"] is False
    job = api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main", "force": True})
    assert (job["result"]["outcome"], job["result"]["reason"]) == ("rejected", "protected")


def test_pull_without_upstream_is_409_and_unset_upstream(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    r = api.call("DELETE", f"/api/v1/repos/{repo_name}/branches/main/upstream")
    assert r.status_code == 204
    assert branches(api, repo_name)["main"]["upstream"] is None
    r = api.call("POST", f"/api/v1/repos/{repo_name}/pull", {"branch": "main"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_upstream"


def test_remote_added_by_url_is_fetched_and_removed(api: Api, forge: Forge, repo_name: str, tmp_path) -> None:
    add_repo(api, repo_name, forge)
    fork = Forge(tmp_path, "fork")
    fork.commit("f.txt", "fork\n", "fork work")
    remote = api.ok("POST", f"/api/v1/repos/{repo_name}/remotes", {"name": "alice", "url": fork.url}, status=201)
    assert api.wait_job(remote["job"]["id"])["state"] == "done"
    remote_branches = api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["remote_branches"]
    assert {"remote": "alice", "name": "main", "sha": branch_sha(fork.bare, "main")} in remote_branches
    assert api.call("DELETE", f"/api/v1/repos/{repo_name}/remotes/alice").status_code == 204
    names = [r["name"] for r in api.ok("GET", f"/api/v1/repos/{repo_name}/remotes")["remotes"]]
    assert names == ["origin"]


def test_jobs_are_listed_newest_first_and_repo_delete(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    jobs = api.ok("GET", f"/api/v1/jobs?repo={repo_name}")["jobs"]
    assert [j["kind"] for j in jobs] == ["fetch", "clone"]
    assert all(j["state"] == "done" and j["trigger"] == "api" for j in jobs)
    assert api.call("DELETE", f"/api/v1/repos/{repo_name}").status_code == 204
    assert api.call("GET", f"/api/v1/repos/{repo_name}").status_code == 404
    git(forge.work, "status")


def clone_dir(live: Processes, url: str) -> Path:
    for config in live.data_dir.glob("repos/*.git/config"):
        if url in config.read_text():
            return config.parent
    raise AssertionError("clone not found")


@pytest.mark.parametrize("damage", ["objects-gone", "head-garbage"])
def test_corrupt_clone_is_moved_aside_and_cloned_again(live: Processes, forge: Forge, repo_name: str,
                                                       damage: str) -> None:
    api = live.api
    add_repo(api, repo_name, forge)
    path = clone_dir(live, forge.url)
    if damage == "objects-gone":
        shutil.rmtree(path / "objects")
    else:
        (path / "HEAD").write_text("garbage\n")  # git no longer sees a repository here
    new = forge.commit("after.txt", "x\n", "after corruption")
    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "main"})
    assert (job["state"], job["result"]["after"]) == ("done", new), job
    assert list(path.parent.glob(f"{path.name}.corrupt-*"))


def test_clone_reports_progress_and_wait_can_run_out(api: Api, tmp_path: Path, repo_name: str) -> None:
    big = Forge(tmp_path, "big")
    for i in range(3):
        for j in range(150):
            (big.work / f"d{i}" / f"f{j}.txt").parent.mkdir(parents=True, exist_ok=True)
            (big.work / f"d{i}" / f"f{j}.txt").write_text(f"{i}-{j}\n" * 50)
        git(big.work, "add", ".")
        git(big.work, "commit", "-qm", f"batch {i}")
    push(big.work, "HEAD:main")
    created = api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": big.url}, status=201)
    job = api.wait_job(created["job"]["id"])
    assert job["state"] == "done"
    # the last phase git reported, e.g. "Receiving objects" or "Computing commit graph ..."
    assert job["progress"]["phase"][:1].isupper()
    assert 0 <= job["progress"]["percent"] <= 100
    # ?wait=0 answers at once with the queued job
    r = api.call("POST", f"/api/v1/repos/{repo_name}/fetch?wait=0", {})
    assert r.status_code == 202 and r.json()["job"]["kind"] == "fetch"


def test_auto_fetch_follows_the_repo_interval(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge, fetch_interval=1)
    new = forge.commit("auto.txt", "auto\n", "picked up by the scheduler")
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        if branches(api, repo_name)["main"]["behind"] == 1:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the scheduled fetch did not happen within 8 s")
    fetches = api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=fetch")["jobs"]
    assert any(j["trigger"] == "schedule" and j["state"] == "done" for j in fetches)
    api.ok("PATCH", f"/api/v1/repos/{repo_name}", {"fetch_interval": 0})
    assert new
