"""Who started a job: the API token whose request (or dashboard session) queued it, shown in the
API's job and on the jobs page; webhook jobs by none, and the page says what triggered them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask

from service.domain.records import Job
from service.settings import load_settings
from service.web import create_app
from service.web.context import Services
from tests.conftest import Forge
from tests.dashboard.conftest import sign_in
from tests.hooks import signing
from tests.support.live import ADMIN, Api

HOOK_SECRET = "who-hook-secret"
URL = "https://github.com/acme/widgets.git"


def services(app: Flask) -> Services:
    found: Services = app.extensions["gitferry"]
    return found


def started_by_cells(page: str) -> dict[int, str]:
    """Each job row's "Started by" cell, by job id."""
    rows = re.findall(r'data-job="(\d+)">.*?<td class="started-by"><bdi>(.*?)</bdi></td>', page, re.S)
    return {int(job): cell for job, cell in rows}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_job_queued_through_the_api_was_started_by_its_token(app: Flask, client: Any) -> None:
    store = services(app).store
    ci = store.tokens.create("ci-bot", "admin")
    deployer = store.tokens.create("deployer", "write")
    added = client.post("/api/v1/repos", json={"name": "acme/widgets", "url": URL}, headers=bearer(ci))
    assert added.status_code == 201, added.text
    clone_id = added.json["job"]["id"]
    # A fetch of one remote (JobQueue.add) and of every remote (add_fetch_of, read with its repo).
    one = client.post("/api/v1/repos/acme/widgets/fetch", json={"remote": "origin"}, headers=bearer(deployer))
    every = client.post("/api/v1/repos/acme/widgets/fetch", json={"prune": False}, headers=bearer(ADMIN))
    assert one.status_code == every.status_code == 202, (one.text, every.text)
    assert [a.json["job"]["started_by"] for a in (added, one, every)] == ["ci-bot", "deployer", "GITFERRY_ADMIN_TOKEN"]
    one_id, every_id = one.json["job"]["id"], every.json["job"]["id"]
    answered = {clone_id: "ci-bot", one_id: "deployer", every_id: "GITFERRY_ADMIN_TOKEN"}
    for job_id, name in answered.items():
        shown = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(ADMIN)).json
        assert shown["trigger"] == "api" and shown["started_by"] == name, shown

    sign_in(client)
    page = client.get("/dashboard/jobs").text
    assert {job_id: started_by_cells(page)[job_id] for job_id in answered} == {
        clone_id: "ci-bot (token)", one_id: "deployer (token)", every_id: "GITFERRY_ADMIN_TOKEN (token)"}
    assert "a person or a bot" not in page


def test_a_job_queued_from_the_dashboard_was_started_by_the_signed_in_token(app: Flask, client: Any) -> None:
    store = services(app).store
    store.repos.create("acme/forked", "file:///tmp/forked.git", pull_strategy=None, fetch_interval=None,
                       protected_branches=[])
    csrf = sign_in(client, store.tokens.create("ops-person", "admin"))
    added = client.post("/dashboard/repos/acme/forked/remotes",
                        data={"csrf": csrf, "name": "fork", "url": "file:///tmp/fork.git"})
    assert added.status_code == 303
    (fetch,) = store.jobs.latest(repo="acme/forked")
    assert (fetch.kind, fetch.trigger, fetch.started_by) == ("fetch", "api", "ops-person")
    assert started_by_cells(client.get("/dashboard/jobs").text)[fetch.id] == "ops-person (token)"
    assert started_by_cells(client.get("/dashboard/repos/acme/forked").text)[fetch.id] == "ops-person (token)"
    # The same thread answers the next request: a job recorded outside any request has no name.
    repo = store.repos.by_name("acme/forked")
    assert repo is not None
    assert services(app).jobs.add(repo, "fetch", {"remote": "origin", "prune": False}).started_by is None


def test_a_webhook_job_was_started_by_no_token_and_the_page_says_a_forge_webhook(tmp_path: Path) -> None:
    app = create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ADMIN_TOKEN": ADMIN,
                                    "GITFERRY_WEBHOOK_SECRET": HOOK_SECRET}))
    try:
        client = app.test_client()
        assert client.post("/api/v1/repos", json={"name": "acme/widgets", "url": URL},
                           headers=bearer(ADMIN)).status_code == 201
        sign_in(client)  # a signed-in browser's cookie rides along: a delivery is still by no token
        body, headers = signing.github(signing.github_push(URL), HOOK_SECRET)
        delivered = client.post("/hooks/github", data=body, headers=headers)
        assert delivered.status_code == 202, delivered.text
        (job_id,) = delivered.get_json()["jobs"]
        shown = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(ADMIN)).get_json()
        assert (shown["trigger"], shown["started_by"]) == ("webhook", None)
        assert started_by_cells(client.get("/dashboard/jobs").text)[job_id] == "a forge webhook"
    finally:
        services(app).store.close()


def test_a_served_gitferry_records_each_requests_own_token(api: Api, forge: Forge, repo_name: str) -> None:
    """Its web threads answer one token's request after another's: each job is its own request's."""
    suffix = repo_name.rsplit("-", 1)[1]
    names = [f"alice-{suffix}", f"bob-{suffix}"]
    tokens = [api.ok("POST", "/api/v1/tokens", {"name": name, "scope": "write"}, status=201)["token"]
              for name in names]
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    api.wait_repo(repo_name)
    fetch = f"/api/v1/repos/{repo_name}/fetch"
    queued = [(names[n % 2], api.call("POST", fetch, {"prune": False}, token=tokens[n % 2])) for n in range(8)]
    assert [answer.json()["job"]["started_by"] for _name, answer in queued] == [name for name, _answer in queued]
    # A waited-for job comes back from the worker that ran it, its name and all.
    done = api.ok("POST", f"{fetch}?wait=30", {"prune": False}, token=tokens[1], status=200)["job"]
    assert (done["state"], done["started_by"]) == ("done", names[1])
    assert api.wait_job(queued[0][1].json()["job"]["id"])["started_by"] == names[0]


def test_a_hostile_started_by_is_escaped(app: Flask, client: Any) -> None:
    store = services(app).store
    repo = store.repos.create("acme/widgets", URL, pull_strategy=None, fetch_interval=None, protected_branches=[])
    # Token names are validated; a row written otherwise (an old version, a hand edit) still shows as text.
    job, _ = store.jobs.add(repo, "fetch", "api", {"remote": "origin"}, None, '<img src=x onerror=alert(1)>"\u202e')
    sign_in(client)
    page = client.get("/dashboard/jobs").text
    assert started_by_cells(page)[job.id] == "&lt;img src=x onerror=alert(1)&gt;&#34;[U+202E] (token)"
    assert "<img src=x" not in page


def test_a_job_handed_over_by_a_process_that_knows_no_started_by_reads_as_started_by_none() -> None:
    text = ('{"id": 1, "repo_id": 1, "repo": "a/b", "kind": "fetch", "state": "queued", "trigger": "api", '
            '"params": {}, "result": null, "error_code": null, "error_message": null, "progress": null, '
            '"coalesce_key": null, "attempts": 0, "owner": null, "lease_until": null, "sent_at": null, '
            '"resends": 0, "resend_at": null, "created_at": "2026-01-01T00:00:00+00:00", "started_at": null, '
            '"finished_at": null}')
    job = Job.from_wire(text)
    assert job is not None and job.started_by is None
    assert Job.from_wire(job.to_wire()) == job
