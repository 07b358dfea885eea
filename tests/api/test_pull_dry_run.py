"""`POST /api/v1/repos/{name}/pull` with `"dry_run": true` against a live `gitferry serve`: it
tells what the pull would do and changes nothing the API shows."""

from __future__ import annotations

from tests.api.test_live_flow import add_repo, diverged_branch
from tests.conftest import Forge
from tests.support.live import Api
from tests.support.repos import branch_sha, git


def refs(api: Api, name: str) -> dict:
    return api.ok("GET", f"/api/v1/repos/{name}/branches")  # type: ignore[no-any-return]


def test_dry_run_tells_the_commits_that_would_arrive_and_moves_nothing(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    before = refs(api, repo_name)
    old = before["branches"][0]["sha"]
    new = forge.commit("a.txt", "a\n", "second")

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "main", "dry_run": True})
    assert job["state"] == "done", job
    assert job["params"]["dry_run"] is True
    assert job["result"] == {"outcome": "fast-forwarded", "before": old, "after": old, "conflicts": [],
                             "dry_run": True, "incoming": [{"sha": new, "subject": "second"}], "incoming_count": 1}
    assert refs(api, repo_name) == before  # not the branch, nor origin/main

    job = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "main", "dry_run": False})
    assert job["result"] == {"outcome": "fast-forwarded", "before": old, "after": new, "conflicts": []}
    assert "dry_run" not in job["params"]


def test_dry_run_predicts_a_rebase_conflict_and_the_commit_it_stops_at(
    api: Api, forge: Forge, repo_name: str
) -> None:
    mine = forge.commit("conflict.txt", "mine\n", "conflicting work", branch="clash")
    git(forge.work, "checkout", "-q", "main")
    forge.commit("conflict.txt", "theirs\n", "upstream conflicting", branch="main")
    add_repo(api, repo_name, forge)
    diverged_branch(api, repo_name, forge, "clash", "clash")
    before = refs(api, repo_name)

    dry = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "clash", "strategy": "rebase", "dry_run": True})
    result = dry["result"]
    assert (result["outcome"], result["conflicts"], result["dry_run"]) == ("conflict", ["conflict.txt"], True)
    assert result["conflict_commit"] == {"sha": mine, "subject": "conflicting work"}
    assert result["incoming_count"] == 1 and result["incoming"][0]["subject"] == "upstream conflicting"
    assert refs(api, repo_name) == before

    real = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "clash", "strategy": "rebase"})
    assert {k: real["result"][k] for k in ("outcome", "conflicts", "conflict_commit")} == {
        k: result[k] for k in ("outcome", "conflicts", "conflict_commit")}
    assert branch_sha(forge.bare, "clash") == mine


def test_a_dry_run_that_is_not_a_boolean_is_refused_and_records_no_job(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    jobs = api.ok("GET", f"/api/v1/jobs?repo={repo_name}")["jobs"]
    for bad in ("yes", 1, [], {}):
        answer = api.call("POST", f"/api/v1/repos/{repo_name}/pull", {"branch": "main", "dry_run": bad})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "bad_field"
        assert "dry_run" in answer.json()["error"]["message"]
    assert api.ok("GET", f"/api/v1/jobs?repo={repo_name}")["jobs"] == jobs
