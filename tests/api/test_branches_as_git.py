"""Branches and upstreams through the API, refused where git refuses, against a live `gitferry
serve`; and every change that queues a job answered 202 with it when the clone is busy."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.api.test_live_flow import add_repo, branches, clone_dir
from tests.conftest import Forge
from tests.support.live import Api, Processes
from tests.support.repos import branch_sha, git
from workers.tasks.lock import clone_lock


def refused(api: Api, method: str, path: str, body: object, status: int, code: str) -> str:
    """The message of a refusal with this status and code."""
    response = api.call(method, path, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return str(response.json()["error"]["message"])


def test_a_branch_in_the_way_is_a_409_naming_it_and_a_name_too_long_a_422(
        api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    path = f"/api/v1/repos/{repo_name}/branches"
    api.ok("POST", path, {"name": "a/b", "start_point": "origin/main"}, status=201)
    for name, existing in [("main/x", "main"), ("a", "a/b")]:
        message = refused(api, "POST", path, {"name": name, "start_point": "origin/main"}, 409, "ref_conflict")
        assert f"branch {existing!r} exists" in message
    for name in ["x" * 251, "y" * 256 + "/z"]:
        message = refused(api, "POST", path, {"name": name, "start_point": "origin/main"}, 422, "invalid")
        assert "too long for git to store" in message
    assert set(branches(api, repo_name)) == {"main", "a/b"}


def test_a_long_remote_branch_can_be_a_start_point_and_an_upstream(api: Api, forge: Forge, repo_name: str) -> None:
    long_name = "team/" + "x" * 250
    forge.commit("long.txt", "long\n", "long", branch=long_name)
    add_repo(api, repo_name, forge)
    made = api.ok("POST", f"/api/v1/repos/{repo_name}/branches",
                  {"name": "long", "start_point": f"origin/{long_name}"}, status=201)
    assert (made["upstream"], made["sha"], made["gone"]) == (f"origin/{long_name}", branch_sha(forge.bare, long_name),
                                                             False)
    main = api.ok("PUT", f"/api/v1/repos/{repo_name}/branches/main/upstream",
                  {"remote": "origin", "branch": long_name}, status=200)
    assert main["upstream"] == f"origin/{long_name}"


def test_an_upstream_not_on_the_remote_is_a_404_that_changes_nothing(api: Api, forge: Forge, repo_name: str) -> None:
    created = api.ok("POST", "/api/v1/repos?wait=30", {"name": repo_name, "url": forge.url}, status=201)
    assert (created["state"], created["job"]["state"], created["default_branch"]) == ("ready", "done", "main")
    path = f"/api/v1/repos/{repo_name}/branches/main/upstream"
    message = refused(api, "PUT", path, {"remote": "origin", "branch": "does-not-exist"}, 404, "upstream_not_found")
    assert "'origin/does-not-exist' does not exist" in message and "fetch origin" in message
    assert branches(api, repo_name)["main"]["upstream"] == "origin/main"


def test_an_ambiguous_start_point_is_a_409_naming_both_and_full_refs_are_taken(
        api: Api, forge: Forge, repo_name: str, tmp_path: Path) -> None:
    add_repo(api, repo_name, forge)
    path = f"/api/v1/repos/{repo_name}/branches"
    api.ok("POST", path, {"name": "mine/work", "start_point": "main"}, status=201)  # before remote `mine` came
    mine = Forge(tmp_path, "mine")
    work = mine.commit("w.txt", "w\n", "their work", branch="work")
    added = api.ok("POST", f"/api/v1/repos/{repo_name}/remotes?wait=30", {"name": "mine", "url": mine.url},
                   status=201)
    assert added["job"]["state"] == "done", added

    message = refused(api, "POST", path, {"name": "x", "start_point": "mine/work"}, 409, "ambiguous_start_point")
    assert "refs/heads/mine/work" in message and "refs/remotes/mine/work" in message
    theirs = api.ok("POST", path, {"name": "theirs", "start_point": "refs/remotes/mine/work"}, status=201)
    ours = api.ok("POST", path, {"name": "ours", "start_point": "refs/heads/mine/work"}, status=201)
    assert (theirs["upstream"], theirs["sha"]) == ("mine/work", work)
    assert (ours["upstream"], ours["sha"]) == (None, branch_sha(forge.bare, "main"))


def test_an_upstream_deleted_on_the_remote_is_listed_as_gone(api: Api, forge: Forge, repo_name: str) -> None:
    forge.commit("d.txt", "d\n", "doomed", branch="doomed")
    add_repo(api, repo_name, forge)
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "doomed", "start_point": "origin/doomed"},
           status=201)
    git(forge.bare, "update-ref", "-d", "refs/heads/doomed")
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    listed = branches(api, repo_name)
    assert listed["doomed"] | {"sha": None} == {"name": "doomed", "sha": None, "upstream": "origin/doomed",
                                                  "ahead": None, "behind": None, "gone": True}
    assert listed["main"]["gone"] is False


def test_changes_to_a_busy_clone_answer_202_with_their_job_and_are_made_once_it_is_free(
        live: Processes, forge: Forge, repo_name: str, tmp_path: Path) -> None:
    api = live.api
    add_repo(api, repo_name, forge)
    r = f"/api/v1/repos/{repo_name}"
    api.ok("POST", f"{r}/branches", {"name": "topic", "start_point": "main"}, status=201)
    fork = Forge(tmp_path, "fork")
    fork.commit("f.txt", "f\n", "fork work")
    with clone_lock(clone_dir(live, forge.url)):  # as a long fetch holds it
        queued = [api.call("PUT", f"{r}/branches/topic/upstream?wait=0.5", {"remote": "origin", "branch": "main"}),
                  api.call("POST", f"{r}/branches?wait=0", {"name": "later", "start_point": "origin/main"}),
                  api.call("DELETE", f"{r}/branches/main/upstream?wait=0.5")]
        assert [q.status_code for q in queued] == [202, 202, 202], [q.text for q in queued]
        assert all(q.json()["job"]["state"] in ("queued", "running") for q in queued)
        added = api.call("POST", f"{r}/remotes?wait=0.5", {"name": "fork", "url": fork.url})
        assert (added.status_code, added.json()["job"]["state"] in ("queued", "running")) == (201, True)
        removed = api.call("DELETE", f"{r}/remotes/fork?wait=0")
        assert (removed.status_code, removed.json()["job"]["kind"]) == (202, "remote")
    jobs = [api.wait_job(q.json()["job"]["id"]) for q in [*queued, removed]]
    assert [j["state"] for j in jobs] == ["done"] * 4, jobs
    listed = branches(api, repo_name)
    assert (listed["topic"]["upstream"], listed["later"]["upstream"], listed["main"]["upstream"]) == (
        "origin/main", "origin/main", None)


def test_branches_recorded_before_gone_existed_are_listed_as_not_gone(app: Flask, client: FlaskClient,
                                                                      admin: dict[str, str]) -> None:
    assert client.post("/api/v1/repos", json={"name": "acme/old", "url": "https://example.com/a/o.git"},
                       headers=admin).status_code == 201
    repos = app.extensions["gitferry"].store.repos
    old = {"name": "main", "sha": "a" * 40, "upstream": "origin/main", "ahead": 0, "behind": 0}
    repos.save_refs(repos.by_name("acme/old").id, {"branches": [old], "remote_branches": [], "tags": [],
                                                     "pending": False})
    listed = client.get("/api/v1/repos/acme/old/branches", headers=admin).json
    assert listed["branches"] == [{**old, "gone": False}]
