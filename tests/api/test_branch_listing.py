"""GET /branches right after a fetch: the fetch answers before its ahead/behind are worked out."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.web import api_branches

SHA_A, SHA_B = "a" * 40, "b" * 40


def snapshot(ahead: int | None, behind: int | None, pending: bool) -> dict:
    return {"branches": [{"name": "main", "sha": SHA_A, "upstream": "origin/main", "ahead": ahead, "behind": behind,
                          "gone": False}],
            "remote_branches": [{"remote": "origin", "name": "main", "sha": SHA_B}], "tags": [], "pending": pending}


@pytest.fixture
def repo_id(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    assert client.post("/api/v1/repos", json={"name": "acme/widgets", "url": "https://example.com/a/w.git"},
                       headers=admin).status_code == 201
    return app.extensions["gitferry"].store.repos.by_name("acme/widgets").id  # type: ignore[no-any-return]


def test_listing_waits_for_the_ahead_behind_a_fetch_left_pending(app: Flask, client: FlaskClient,
                                                                 admin: dict[str, str], repo_id: int) -> None:
    repos = app.extensions["gitferry"].store.repos
    repos.save_refs(repo_id, snapshot(None, None, pending=True))
    settle = threading.Timer(0.2, lambda: repos.save_refs(repo_id, snapshot(0, 3, pending=False)))
    settle.start()
    listed = client.get("/api/v1/repos/acme/widgets/branches", headers=admin).json
    settle.join()
    assert listed["branches"] == [{"name": "main", "sha": SHA_A, "upstream": "origin/main", "ahead": 0, "behind": 3,
                                   "gone": False}]
    assert "pending" not in listed


def test_listing_waits_while_a_job_has_marked_the_recorded_refs_out_of_date(
        app: Flask, client: FlaskClient, admin: dict[str, str], repo_id: int) -> None:
    """A fetch that moved upstreams marks the refs it found pending and records them whole
    once it knows their ahead/behind: the listing shows those, not the ones before the fetch."""
    repos = app.extensions["gitferry"].store.repos
    repos.save_refs(repo_id, snapshot(0, 0, pending=False))
    repos.refs_pending(repo_id)
    assert repos.refs(repo_id)["pending"] is True
    settle = threading.Timer(0.2, lambda: repos.save_refs(repo_id, snapshot(0, 3, pending=False)))
    settle.start()
    listed = client.get("/api/v1/repos/acme/widgets/branches", headers=admin).json
    settle.join()
    assert listed["branches"][0]["behind"] == 3 and not repos.refs(repo_id)["pending"]


def test_listing_gives_up_waiting_on_refs_nobody_settles(app: Flask, client: FlaskClient, admin: dict[str, str],
                                                         repo_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_branches, "PENDING_WAIT", 0.1)
    app.extensions["gitferry"].store.repos.save_refs(repo_id, snapshot(None, None, pending=True))
    listed = client.get("/api/v1/repos/acme/widgets/branches", headers=admin)
    assert listed.status_code == 200
    assert (listed.json["branches"][0]["ahead"], listed.json["branches"][0]["behind"]) == (None, None)


def test_a_pull_of_the_branch_the_last_job_made_waits_for_its_refs(app: Flask, client: FlaskClient,
                                                                  admin: dict[str, str], repo_id: int) -> None:
    """A job answers before it records the refs it changed: a pull of the branch it just made
    is not refused as unknown meanwhile."""
    repos = app.extensions["gitferry"].store.repos
    repos.save_refs(repo_id, snapshot(0, 0, pending=False))
    repos.ready(repo_id)
    repos.refs_pending(repo_id)  # a branch job has ended; its refs are being recorded
    made = snapshot(0, 0, pending=False)
    made["branches"].append({"name": "topic", "sha": SHA_A, "upstream": "origin/main", "ahead": 0, "behind": 0,
                              "gone": False})
    settle = threading.Timer(0.2, lambda: repos.save_refs(repo_id, made))
    settle.start()
    queued = client.post("/api/v1/repos/acme/widgets/pull?wait=0", json={"branch": "topic"}, headers=admin)
    settle.join()
    assert queued.status_code == 202, queued.json
    assert queued.json["job"]["params"]["branch"] == "topic"
    # and one that is not there once the refs are recorded is still unknown
    missing = client.post("/api/v1/repos/acme/widgets/pull?wait=0", json={"branch": "nope"}, headers=admin)
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "branch_not_found")


def test_tags_listed_after_a_fetch_are_the_fetch_s(app: Flask, client: FlaskClient, admin: dict[str, str],
                                                  repo_id: int) -> None:
    repos = app.extensions["gitferry"].store.repos
    repos.save_refs(repo_id, snapshot(0, 0, pending=False))
    repos.refs_pending(repo_id)
    fetched = snapshot(0, 0, pending=False)
    fetched["tags"] = [{"remote": "origin", "name": "v2", "sha": SHA_B}]
    settle = threading.Timer(0.2, lambda: repos.save_refs(repo_id, fetched))
    settle.start()
    listed = client.get("/api/v1/repos/acme/widgets/tags", headers=admin).json
    settle.join()
    assert listed["tags"] == [{"remote": "origin", "name": "v2", "sha": SHA_B}]
