"""Against a live `gitferry serve`: a push that looks first (its rejection, expect, dry run) and the
backups of what forces and rebases replaced (list, restore, delete, retention)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from service.domain.types import utcnow
from service.store import Store
from service.store.tables import backups
from tests.conftest import Forge
from tests.support.live import Api, Processes
from tests.support.repos import branch_sha, git, list_refs


@pytest.fixture
def store(live: Processes) -> Iterator[Store]:
    """The live server's own database (for ageing a backup past retention)."""
    s = Store(f"sqlite:///{live.data_dir / 'gitferry.sqlite'}")
    yield s
    s.close()


def clone_of(live: Processes, store: Store, name: str) -> Path:
    repo = store.repos.by_name(name)
    assert repo is not None
    return live.data_dir / "repos" / f"{repo.id}.git"


def backup_refs_soon(clone: Path, gone: str) -> dict[str, str]:
    """The clone's backup refs once `gone` is gone: the worker deletes it after the job's answer,
    still holding the clone (given 10 s)."""
    deadline = time.monotonic() + 10
    while gone in (kept := list_refs(clone, "refs/gitferry")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return kept


def add_repo(api: Api, name: str, forge: Forge) -> None:
    api.ok("POST", "/api/v1/repos", {"name": name, "url": forge.url}, status=201)
    api.wait_repo(name)


def listed(api: Api, name: str) -> list[dict]:
    return api.ok("GET", f"/api/v1/repos/{name}/backups")["backups"]  # type: ignore[no-any-return]


def moved_unseen(api: Api, forge: Forge, name: str) -> tuple[str, str]:
    """The service's main at A; the forge's main moved on to B, which the service never fetched."""
    add_repo(api, name, forge)
    ours = branch_sha(forge.bare, "main")
    theirs = forge.commit("up.txt", "theirs\n", "someone else's work")
    assert ours and theirs
    return ours, theirs


def test_a_rejection_shows_the_tip_and_a_force_on_exactly_that_tip_goes_through(
        api: Api, forge: Forge, repo_name: str) -> None:
    ours, theirs = moved_unseen(api, forge, repo_name)
    push = f"/api/v1/repos/{repo_name}/push"
    rejected = api.run(push, {"branch": "main"})["result"]
    assert (rejected["outcome"], rejected["reason"], rejected["before"], rejected["force_available"]) == (
        "rejected", "non-fast-forward", theirs, True)
    assert [(c["sha"], c["subject"]) for c in rejected["discarded"]] == [(theirs, "someone else's work")]
    assert rejected["discarded"][0]["author"]["name"] and rejected["discarded"][0]["parents"] == [ours]

    newer = forge.commit("up2.txt", "more\n", "moved again")
    stale = api.run(push, {"branch": "main", "force": True, "expect": rejected["before"]})["result"]
    assert (stale["outcome"], stale["reason"], stale["before"]) == ("rejected", "stale", newer)
    assert newer in stale["message"]
    assert branch_sha(forge.bare, "main") == newer

    job = api.run(push, {"branch": "main", "force": True, "expect": stale["before"]})
    assert (job["result"]["outcome"], job["result"]["before"]) == ("pushed", newer)
    assert branch_sha(forge.bare, "main") == ours
    [kept] = listed(api, repo_name)
    assert {k: kept[k] for k in ("branch", "remote", "where", "sha", "replaced_by", "job", "ref")} == {
        "branch": "main", "remote": "origin", "where": "remote", "sha": newer, "replaced_by": ours,
        "job": job["id"], "ref": job["result"]["backup_ref"]}


def test_a_dry_run_says_what_would_happen_and_changes_nothing(api: Api, forge: Forge, repo_name: str) -> None:
    ours, theirs = moved_unseen(api, forge, repo_name)
    push = f"/api/v1/repos/{repo_name}/push"
    result = api.run(push, {"branch": "main", "dry_run": True, "force": True})["result"]
    assert (result["outcome"], result["dry_run"], [c["sha"] for c in result["discarded"]]) == (
        "force", True, [theirs])
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "topic", "start_point": "main", "track": False},
           status=201)
    result = api.run(push, {"branch": "topic", "dry_run": True})["result"]
    assert (result["outcome"], result["before"], result["after"]) == ("create", None, ours)
    assert branch_sha(forge.bare, "main") == theirs and branch_sha(forge.bare, "topic") is None
    assert listed(api, repo_name) == []


def test_backups_are_restored_with_a_lease_and_deleted(
        api: Api, forge: Forge, repo_name: str, live: Processes, store: Store) -> None:
    _ours, theirs = moved_unseen(api, forge, repo_name)
    api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main", "force": True, "expect": theirs})
    [first] = listed(api, repo_name)
    restore = f"/api/v1/repos/{repo_name}/backups/{first['id']}/restore"
    job = api.run(restore, {})  # the branch is where the backup's job left it: the lease holds
    assert (job["kind"], job["result"]["outcome"], job["result"]["backup_id"]) == ("restore", "pushed", first["id"])
    assert branch_sha(forge.bare, "main") == theirs
    assert len(listed(api, repo_name)) == 1  # a fast-forward overwrote nothing

    moved = forge.commit("later.txt", "later\n", "work after the restore")
    refused = api.run(restore, {})["result"]
    assert (refused["outcome"], refused["reason"], refused["before"]) == ("rejected", "stale", moved)
    assert branch_sha(forge.bare, "main") == moved
    job = api.run(restore, {"force": True, "expect": moved})
    assert job["result"]["outcome"] == "pushed"
    assert branch_sha(forge.bare, "main") == theirs
    second = listed(api, repo_name)[0]  # what the restore overwrote, backed up in turn
    assert (second["sha"], second["replaced_by"], second["job"]) == (moved, theirs, job["id"])

    clone = clone_of(live, store, repo_name)
    assert api.call("DELETE", f"/api/v1/repos/{repo_name}/backups/{first['id']}").status_code == 204
    assert first["id"] not in [b["id"] for b in listed(api, repo_name)]
    assert api.call("POST", restore, {}).status_code == 404
    assert first["ref"] in list_refs(clone, "refs/gitferry")  # till a worker holds the clone
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    kept = backup_refs_soon(clone, first["ref"])
    assert first["ref"] not in kept and second["ref"] in kept


def test_backups_past_retention_are_not_listed_and_workers_delete_them(
        api: Api, forge: Forge, repo_name: str, live: Processes, store: Store) -> None:
    _ours, theirs = moved_unseen(api, forge, repo_name)
    api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main", "force": True, "expect": theirs})
    [kept] = listed(api, repo_name)
    with store.db.write() as conn:  # 31 days pass (the default retention is 30)
        conn.execute(update(backups).where(backups.c.id == kept["id"]).values(
            created_at=utcnow() - timedelta(days=31)))
    assert listed(api, repo_name) == []
    clone = clone_of(live, store, repo_name)
    assert kept["ref"] in list_refs(clone, "refs/gitferry")
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    assert backup_refs_soon(clone, kept["ref"]) == {}


def test_a_rebase_keeps_a_local_backup_that_restores_the_branch(
        api: Api, forge: Forge, repo_name: str) -> None:
    own = forge.commit("side.txt", "side\n", "own work", branch="side")
    git(forge.work, "checkout", "-q", "main")
    forge.commit("up.txt", "upstream\n", "upstream change", branch="main")
    add_repo(api, repo_name, forge)
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "mine", "start_point": "origin/side"},
           status=201)
    api.ok("PUT", f"/api/v1/repos/{repo_name}/branches/mine/upstream", {"remote": "origin", "branch": "main"})
    pulled = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": "mine", "strategy": "rebase"})["result"]
    assert pulled["outcome"] == "rebased"
    [kept] = listed(api, repo_name)
    assert (kept["where"], kept["remote"], kept["branch"], kept["sha"], kept["replaced_by"]) == (
        "local", None, "mine", own, pulled["after"])
    result = api.run(f"/api/v1/repos/{repo_name}/backups/{kept['id']}/restore", {})["result"]
    assert (result["outcome"], result["branch"], result["after"]) == ("reset", "mine", own)
    mine = {b["name"]: b for b in api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["branches"]}["mine"]
    assert mine["sha"] == own


def test_bad_push_and_backup_requests_are_refused_and_change_nothing(api: Api, forge: Forge, repo_name: str) -> None:
    add_repo(api, repo_name, forge)
    base = f"/api/v1/repos/{repo_name}"
    before = api.ok("GET", f"/api/v1/jobs?repo={repo_name}")["jobs"]
    for method, path, body, status in [
        ("POST", f"{base}/push", {"branch": "main", "expect": "abc"}, 422),
        ("POST", f"{base}/push", {"branch": "main", "expect": 12}, 400),
        ("POST", f"{base}/push", {"branch": "main", "dry_run": "yes"}, 400),
        ("POST", f"{base}/backups/1/restore", {"force": True}, 422),
        ("POST", f"{base}/backups/1/restore", {"expect": "a" * 40}, 422),
        ("POST", f"{base}/backups/999999/restore", {}, 404),
        ("POST", f"{base}/backups/x1/restore", {}, 404),
        ("DELETE", f"{base}/backups/999999", None, 404),
        ("GET", "/api/v1/repos/no/such/backups", None, 404),
    ]:
        answer = api.call(method, path, body)
        assert answer.status_code == status, (path, body, answer.text)
        assert answer.json()["error"]["code"]
    assert api.ok("GET", f"/api/v1/jobs?repo={repo_name}")["jobs"] == before


def test_a_branch_the_push_fetched_sets_off_the_rules_watching_it(api: Api, forge: Forge, repo_name: str) -> None:
    _ours, theirs = moved_unseen(api, forge, repo_name)
    api.ok("POST", f"/api/v1/repos/{repo_name}/rules", {"name": "copy", "remote": "origin", "branch": "main",
                                                        "local_branch": "copy"}, status=201)
    assert api.run(f"/api/v1/repos/{repo_name}/push", {"branch": "main"})["result"]["outcome"] == "rejected"
    [sync] = api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=sync")["jobs"]
    assert (sync["trigger"], sync["started_by"], api.wait_job(sync["id"])["state"]) == ("rule", None, "done")
    copy = {b["name"]: b for b in api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["branches"]}["copy"]
    assert copy["sha"] == theirs
