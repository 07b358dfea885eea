"""Sync rules through the API against a live `gitferry serve`: add, change (PATCH), list, delete,
and a changed rule acting on the next fetch as changed."""

from __future__ import annotations

from typing import Any

from tests.conftest import Forge
from tests.support.live import Api


def rules_of(api: Api, repo_name: str) -> dict[str, Any]:
    return {r["name"]: r for r in api.ok("GET", f"/api/v1/repos/{repo_name}/rules")["rules"]}


def added(api: Api, forge: Forge, repo_name: str) -> str:
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url})
    api.wait_repo(repo_name)
    rules = f"/api/v1/repos/{repo_name}/rules"
    api.ok("POST", rules, {"name": "follow", "remote": "origin", "branch": "main", "local_branch": "copy"}, 201)
    api.ok("POST", rules, {"name": "other", "remote": "origin", "branch": "main", "local_branch": "other"}, 201)
    return rules


def test_a_rule_is_changed_field_by_field_and_answers_as_it_is_now(api: Api, forge: Forge, repo_name: str) -> None:
    rules = added(api, forge, repo_name)
    changed = api.ok("PATCH", f"{rules}/follow", {"strategy": "rebase", "push_to": "origin", "allow_force": True}, 200)
    assert changed == {"name": "follow", "remote": "origin", "branch": "main", "local_branch": "copy",
                       "strategy": "rebase", "push_to": "origin", "allow_force": True}
    assert rules_of(api, repo_name)["follow"] == changed
    # null sets a field back to its default; the fields not given stay as they were
    reset = api.ok("PATCH", f"{rules}/follow", {"strategy": None, "push_to": None, "allow_force": None}, 200)
    assert (reset["strategy"], reset["push_to"], reset["allow_force"], reset["local_branch"]) == \
        (None, None, False, "copy")
    renamed = api.ok("PATCH", f"{rules}/follow", {"name": "mirror-main"}, 200)
    assert renamed["name"] == "mirror-main" and set(rules_of(api, repo_name)) == {"mirror-main", "other"}
    assert api.call("PATCH", f"{rules}/follow", {"strategy": "rebase"}).status_code == 404


def test_a_change_refused_changes_nothing(api: Api, forge: Forge, repo_name: str) -> None:
    rules = added(api, forge, repo_name)
    before = rules_of(api, repo_name)
    for body, status, code in [({"name": "other"}, 409, "rule_exists"),
                               ({"remote": "nope"}, 404, "remote_not_found"),
                               ({"push_to": "nope"}, 404, "remote_not_found"),
                               ({"local_branch": "origin/x"}, 422, "invalid"),
                               ({"branch": "a..b"}, 422, "invalid"),
                               ({"strategy": "yolo"}, 422, "invalid"),
                               ({"strategy": "rebase", "created_at": "now"}, 400, "bad_field")]:
        answer = api.call("PATCH", f"{rules}/follow", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (body, answer.text)
    assert api.call("PATCH", f"{rules}/nope", {"strategy": "rebase"}).json()["error"]["code"] == "rule_not_found"
    assert rules_of(api, repo_name) == before


def fetched_and_synced(api: Api, repo_name: str) -> dict[str, str]:
    """Fetch, wait for the sync jobs the fetch set off; the local branches' tips then."""
    fetch = api.run(f"/api/v1/repos/{repo_name}/fetch")
    syncs = [j for j in api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=sync")["jobs"] if j["id"] > fetch["id"]]
    assert syncs and all(api.wait_job(j["id"])["state"] == "done" for j in syncs), syncs
    return {b["name"]: b["sha"] for b in api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["branches"]}


def test_a_changed_rule_acts_as_changed_on_the_next_fetch(api: Api, forge: Forge, repo_name: str) -> None:
    """follow watched origin/main into copy; changed to watch origin/dev into dev-copy, a fetch that
    moves both branches updates dev-copy to dev's tip, and copy no more."""
    forge.commit("dev.txt", "dev\n", "start dev", branch="dev")
    rules = added(api, forge, repo_name)
    api.ok("DELETE", f"{rules}/other")
    first = forge.commit("README", "once\n", "main moves", branch="main")
    assert fetched_and_synced(api, repo_name)["copy"] == first  # the rule as added acts

    api.ok("PATCH", f"{rules}/follow", {"branch": "dev", "local_branch": "dev-copy"}, 200)
    forge.commit("README", "twice\n", "main moves again", branch="main")
    dev_tip = forge.commit("dev.txt", "dev moves\n", "dev moves", branch="dev")
    branches = fetched_and_synced(api, repo_name)
    assert branches["dev-copy"] == dev_tip
    assert branches["copy"] == first  # main moved, but the rule no longer watches it
