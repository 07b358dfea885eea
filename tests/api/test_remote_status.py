"""The API shows how each remote's fetches go: its last attempt, success and error, whether
scheduled fetches back off from it (until when, and why), and the repo's failing remotes; every
field is in the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from service.domain.fetching import BACKOFF_FIRST
from service.domain.records import RemoteFetch
from service.domain.types import utcnow
from service.store import Store
from service.web.views import iso
from tests.support.contract import check_named


def store_of(app: Flask) -> Store:
    return app.extensions["gitferry"].store  # type: ignore[no-any-return]


def document(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()  # type: ignore[no-any-return]


def test_a_remote_that_keeps_failing_is_shown_backing_off_with_its_reason(app: Flask, client: FlaskClient,
                                                                          admin: dict[str, str]) -> None:
    store = store_of(app)
    repo = store.repos.create("acme/widgets", "https://example.com/acme/widgets.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])
    store.repos.update(repo.id, state="ready")
    store.repos.add_remote(repo.id, "fork", "https://example.com/fork/widgets.git")
    ok, failed = utcnow().replace(microsecond=0), utcnow().replace(microsecond=0) + timedelta(seconds=1)
    store.repos.remotes_fetched(repo.id, (RemoteFetch("origin", ok), RemoteFetch("fork", ok)))
    for _ in range(2):
        store.repos.remotes_fetched(repo.id, (RemoteFetch("origin", failed),
                                              RemoteFetch("fork", failed, "auth", "authentication failed")))

    shown = client.get("/api/v1/repos/acme/widgets", headers=admin)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    body = shown.get_json()
    assert (body["state"], body["error"], body["failing_remotes"]) == ("ready", None, ["fork"])
    fork = next(r for r in body["remotes"] if r["name"] == "fork")
    assert fork == {
        "name": "fork", "url": "https://example.com/fork/widgets.git", "provider": "other", "web_url": None,
        "last_attempt_at": iso(failed), "last_success_at": iso(ok),
        "last_error": {"code": "auth", "message": "authentication failed"}, "fetch_failures": 2,
        "backing_off": True, "next_attempt_at": iso(failed + BACKOFF_FIRST),
        "backoff_reason": "2 fetches in a row failed (auth: authentication failed); scheduled fetches wait, "
                          "an explicit fetch tries at once"}
    origin = next(r for r in body["remotes"] if r["name"] == "origin")
    assert (origin["last_error"], origin["backing_off"], origin["next_attempt_at"], origin["backoff_reason"]) == (
        None, False, None, None)
    assert origin["last_success_at"] == origin["last_attempt_at"] == iso(failed)

    listed = client.get("/api/v1/repos/acme/widgets/remotes", headers=admin).get_json()["remotes"]
    assert [r for r in listed if r["name"] == "fork"] == [fork]
    check_named(document(client), "Repo", body)
    check_named(document(client), "Remote", fork)


def test_a_remote_never_fetched_shows_no_attempt(app: Flask, client: FlaskClient, admin: dict[str, str]) -> None:
    store_of(app).repos.create("acme/new", "https://example.com/acme/new.git", pull_strategy=None,
                               fetch_interval=None, protected_branches=[])
    body = client.get("/api/v1/repos/acme/new", headers=admin).get_json()
    assert body["failing_remotes"] == []
    assert {k: body["remotes"][0][k] for k in ("last_attempt_at", "last_success_at", "last_error", "fetch_failures",
                                               "backing_off")} == {
        "last_attempt_at": None, "last_success_at": None, "last_error": None, "fetch_failures": 0,
        "backing_off": False}
