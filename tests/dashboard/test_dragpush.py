"""Pushing a branch to another remote branch, and push dry runs, through the dashboard's forms on a
live `gitferry serve` (no browser); plain git on the forge and on gitferry's clone is the oracle."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask import Flask, render_template

from service.domain.records import Job
from service.web.dashboard.dry_runs import DryRun
from tests.conftest import Forge
from tests.dashboard.conftest import sign_in_over_http
from tests.support.history import clone_of, git_commit_in
from tests.support.live import Api, Processes
from tests.support.repos import branch_sha, git

TOPIC_WORK = "topic work <b>bold</b>"


@dataclass
class TopicAhead:
    """`topic` (tracking origin/main) has one commit more than origin/other, where main is."""

    name: str
    clone: Path
    forge: Forge
    topic: str  # topic's sha
    other: str  # origin/other's sha


def topic_ahead_of_other(api: Api, data_dir: Path, forge: Forge, name: str) -> TopicAhead:
    git(forge.work, "push", "origin", "main:refs/heads/other")
    api.ok("POST", "/api/v1/repos", {"name": name, "url": forge.url}, status=201)
    api.wait_repo(name)
    api.ok("POST", f"/api/v1/repos/{name}/branches", {"name": "topic", "start_point": "origin/main"}, status=201)
    clone = clone_of(data_dir, forge.url)
    topic = git_commit_in(clone, "topic", TOPIC_WORK)
    api.run(f"/api/v1/repos/{name}/fetch", {})  # a job records the refs as they are now
    other = branch_sha(forge.bare, "other")
    assert other and other != topic
    return TopicAhead(name, clone, forge, topic, other)


def upstream_of(api: Api, name: str, branch: str) -> str | None:
    listed = api.ok("GET", f"/api/v1/repos/{name}/branches")["branches"]
    return next(b["upstream"] for b in listed if b["name"] == branch)  # type: ignore[no-any-return]


def push_jobs(api: Api, name: str) -> list[dict[str, object]]:
    return api.ok("GET", f"/api/v1/jobs?repo={name}&kind=push")["jobs"]  # type: ignore[no-any-return]


@dataclass
class Signed:
    http: requests.Session
    csrf: str
    base: str

    def post(self, path: str, data: dict[str, str], hx: bool = False) -> requests.Response:
        return self.http.post(f"{self.base}{path}", data={"csrf": self.csrf, **data}, timeout=30,
                              headers={"HX-Request": "true"} if hx else {})


@pytest.fixture(scope="module")
def ahead(live: Processes, tmp_path_factory: pytest.TempPathFactory) -> TopicAhead:
    forge = Forge(tmp_path_factory.mktemp("dragpush"))
    forge.commit("README", "hello\n", "first")
    return topic_ahead_of_other(live.api, live.data_dir, forge, "t/dragpush-forms")


@pytest.fixture(scope="module")
def admin_page(live: Processes) -> Signed:
    return Signed(*sign_in_over_http(live.api.base), live.api.base)


def test_the_page_offers_drag_and_drop_and_the_keyboard_way(admin_page: Signed, ahead: TopicAhead) -> None:
    page = admin_page.http.get(f"{admin_page.base}/dashboard/repos/{ahead.name}", timeout=30).text
    assert '<tr data-branch="topic" draggable="true"' in page
    assert '<li data-push-to="origin/other">' in page and '<dialog id="dragpush"' in page
    row = page.split('data-branch="topic"', 1)[1].split("</tr>", 1)[0]
    menu = admin_page.http.get(admin_page.base + html.unescape(re.findall(r'class="menu" hx-get="([^"]+)"', row)[0]),
                               headers={"HX-Request": "true"}, timeout=30).text  # the Push… menu, as it opens
    assert 'class="grid dragpush-pick"' in menu and 'list="remote-branch-names"' in menu
    assert "To another remote branch" in menu and "Review and push…<span class=\"sr-only\"> topic there</span>" in menu
    assert menu.count(">Dry run<") == 1
    assert '/dashboard/static/dragpush.js" defer></script>' in page


def test_a_dry_run_shows_what_would_arrive_and_pushes_nothing(live: Processes, admin_page: Signed,
                                                             ahead: TopicAhead) -> None:
    api = live.api
    answer = admin_page.post(f"/dashboard/repos/{ahead.name}/push/dry-run",
                             {"branch": "topic", "to": "origin/other", "set_upstream": "no"})
    assert answer.status_code == 200 and "Dry run of pushing topic: nothing is pushed" in answer.text
    job = api.wait_job(int(push_jobs(api, ahead.name)[0]["id"]))  # type: ignore[call-overload]
    assert job["params"]["dry_run"] is True and job["result"]["outcome"] == "fast-forward"
    assert [c["sha"] for c in job["result"]["arriving"]] == [ahead.topic]
    assert branch_sha(ahead.forge.bare, "other") == ahead.other  # nothing pushed
    page = admin_page.http.get(f"{admin_page.base}/dashboard/repos/{ahead.name}", timeout=30).text
    card = page.split('<section class="card dry-run"', 1)[1].split("</section>", 1)[0]
    assert "pushing <bdi class=\"ref\">topic</bdi> to <bdi class=\"ref\">origin/other</bdi> would fast-forward it" \
        in card
    assert "1 commit would arrive" in card and ahead.topic[:10] in card
    assert html.escape(TOPIC_WORK, quote=False) in card and "<b>bold" not in card
    assert 'name="remote_branch" value="other"' in card and 'name="set_upstream" value="no"' in card

    # the dialog's request: the preview itself, once the dry run ended
    preview = admin_page.post(f"/dashboard/repos/{ahead.name}/push/dry-run",
                              {"branch": "topic", "remote": "origin", "remote_branch": "other"}, hx=True)
    assert preview.status_code == 200 and "<html" not in preview.text
    assert "would fast-forward it" in preview.text and ahead.topic[:10] in preview.text
    newest = push_jobs(api, ahead.name)[0]
    again = admin_page.http.get(f"{admin_page.base}/dashboard/repos/{ahead.name}/push/dry-run/{newest['id']}",
                                timeout=30)
    assert again.status_code == 200 and "would fast-forward it" in again.text
    assert branch_sha(ahead.forge.bare, "other") == ahead.other
    assert upstream_of(api, ahead.name, "topic") == "origin/main"


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"branch": "topic", "to": "nope/other"}, 404, "no remote named &#39;nope&#39;"),
    ({"branch": "topic", "to": "origin/bad..name"}, 422, "invalid remote branch name"),
    ({"branch": "topic", "to": "origin"}, 422, "choose the remote branch to push to"),
    ({"branch": "topic", "remote": "origin", "remote_branch": "-x"}, 422, "must not start with"),
    ({"branch": "no-such", "to": "origin/other"}, 404, "no branch named"),
    ({"to": "origin/other"}, 400, "branch"),
])
def test_bad_input_is_a_readable_notice_and_nothing_is_queued(live: Processes, admin_page: Signed,
                                                              ahead: TopicAhead, fields: dict[str, str],
                                                              status: int, words: str) -> None:
    before = push_jobs(live.api, ahead.name)
    for path in ("/push/dry-run", "/push"):
        for hx in (False, True):
            answer = admin_page.post(f"/dashboard/repos/{ahead.name}{path}", fields, hx=hx)
            assert answer.status_code == status and words in answer.text, (path, hx, answer.text[-600:])
            assert 'class="notice failed"' in answer.text and "Traceback" not in answer.text
    assert push_jobs(live.api, ahead.name) == before


def test_a_read_token_can_neither_drag_nor_push(live: Processes, ahead: TopicAhead) -> None:
    api = live.api
    token = api.ok("POST", "/api/v1/tokens", {"name": "dragpush-reader", "scope": "read"}, status=201)["token"]
    reader = Signed(*sign_in_over_http(api.base, token), api.base)
    page = reader.http.get(f"{api.base}/dashboard/repos/{ahead.name}", timeout=30).text
    assert "draggable" not in page
    assert 'id="dragpush-push" disabled title="needs a write or admin token"' in page
    before = push_jobs(api, ahead.name)
    for path in ("/push/dry-run", "/push"):
        for hx in (False, True):
            answer = reader.post(f"/dashboard/repos/{ahead.name}{path}", {"branch": "topic", "to": "origin/other"}, hx)
            assert answer.status_code == 403 and "needs a write or admin token" in answer.text
    assert push_jobs(api, ahead.name) == before and branch_sha(ahead.forge.bare, "other") == ahead.other


def test_only_a_dry_run_of_the_repo_is_looked_up(admin_page: Signed, live: Processes, ahead: TopicAhead) -> None:
    fetch = live.api.ok("GET", f"/api/v1/jobs?repo={ahead.name}&kind=fetch")["jobs"][0]["id"]
    for job_id in (str(fetch), "999999999", "nope", "1" * 30):
        answer = admin_page.http.get(f"{admin_page.base}/dashboard/repos/{ahead.name}/push/dry-run/{job_id}",
                                     headers={"HX-Request": "true"}, timeout=30)
        assert answer.status_code == 404 and "no dry run" in answer.text, job_id


def a_push_job(state: str, result: dict[str, object] | None = None, error: str | None = None) -> Job:
    now = datetime.now(UTC)
    return Job(id=7, repo_id=1, repo="acme/widgets", kind="push", state=state, trigger="api",
               params={"branch": "topic", "remote": "origin", "remote_branch": "other", "dry_run": True},
               result=result, error_code="git" if error else None, error_message=error, progress=None,
               coalesce_key=None, attempts=0, owner=None, lease_until=None, sent_at=None, resends=0,
               resend_at=None, created_at=now, started_at=None,
               finished_at=now if state in ("done", "failed") else None)


def test_a_dry_run_still_running_asks_again_and_a_failed_one_says_why(app: Flask) -> None:
    with app.test_request_context("/"):
        running = render_template("dashboard/_push_preview.html", preview=DryRun(a_push_job("running")),
                                  repo_name="acme/widgets")
        failed = render_template("dashboard/_push_preview.html", repo_name="acme/widgets",
                                 preview=DryRun(a_push_job("failed", error="could not read from <remote>")))
    assert 'hx-get="/dashboard/repos/acme/widgets/push/dry-run/7"' in running and 'hx-trigger="load delay:500ms"' \
        in running
    assert "Dry run: looking at <bdi class=\"ref\">origin/other</bdi>… (job 7)" in running
    assert "hx-get" not in failed and "failed: could not read from &lt;remote&gt;" in failed
