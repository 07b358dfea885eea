"""Webhooks end to end against a live `gitferry serve`: fetch, bursts, sync rules, notifications."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.conftest import Forge
from tests.hooks import signing
from tests.support.git_http import GitHttpServer
from tests.support.live import HOOK_SECRET, Api, Processes
from tests.support.repos import branch_sha, git, make_commit, push


@pytest.fixture
def served(forge: Forge) -> Iterator[GitHttpServer]:
    """The forge's repositories over smart HTTP, so webhook bodies can carry real clone URLs."""
    with GitHttpServer(forge.bare.parent) as http:
        yield http


def deliver(live: Processes, delivery: tuple[bytes, dict], endpoint: str = "github") -> requests.Response:
    body, headers = delivery
    return requests.post(f"{live.api.base}/hooks/{endpoint}", data=body, headers=headers, timeout=30)


def remote_sha(api: Api, repo: str, remote: str, branch: str) -> str | None:
    for b in api.ok("GET", f"/api/v1/repos/{repo}/branches")["remote_branches"]:
        if (b["remote"], b["name"]) == (remote, branch):
            return b["sha"]  # type: ignore[no-any-return]
    return None


def wait_until(check, timeout: float = 5.0) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def test_push_webhook_brings_the_commit_into_the_clone(live: Processes, served: GitHttpServer, forge: Forge,
                                                       repo_name: str) -> None:
    api = live.api
    url = served.url(forge.bare.name)
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": url}, status=201)
    api.wait_repo(repo_name)
    new = forge.commit("hook.txt", "hook\n", "pushed upstream")
    r = deliver(live, signing.github(signing.github_push(url, after=new), HOOK_SECRET))
    assert r.status_code == 202, r.text
    (job_id,) = r.json()["jobs"]
    job = api.wait_job(job_id)
    assert (job["state"], job["trigger"]) == ("done", "webhook")
    assert remote_sha(api, repo_name, "origin", "main") == new
    # tags pushed upstream arrive too, listed per remote
    git(forge.work, "tag", "v1.0")
    push(forge.work, "v1.0")
    r = deliver(live, signing.github(signing.github_push(url, ref="refs/tags/v1.0", before=signing.ZERO), HOOK_SECRET))
    api.wait_job(r.json()["jobs"][0])
    tags = api.ok("GET", f"/api/v1/repos/{repo_name}/tags")["tags"]
    assert {"remote": "origin", "name": "v1.0", "sha": new} in tags


def test_burst_of_deliveries_costs_a_few_fetches_and_loses_nothing(live: Processes, served: GitHttpServer,
                                                                   forge: Forge, repo_name: str) -> None:
    api = live.api
    url = served.url(forge.bare.name)
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": url}, status=201)
    api.wait_repo(repo_name)
    last = forge.commit("burst.txt", "0\n", "burst 0")

    def one(i: int) -> int:
        return deliver(live, signing.github(signing.github_push(url, after=last), HOOK_SECRET)).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(200)))
    last = forge.commit("burst.txt", "last\n", "the last push")  # lands after the burst's fetches began
    assert deliver(live, signing.github(signing.github_push(url, after=last), HOOK_SECRET)).status_code == 202
    burst_end = time.monotonic()
    assert statuses == [202] * 200
    wait_until(lambda: remote_sha(api, repo_name, "origin", "main") == last, timeout=2.0)
    fetches = api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=fetch&limit=500")["jobs"]
    assert 1 <= len(fetches) <= 12, len(fetches)
    assert time.monotonic() - burst_end < 2.5


def test_rule_rebases_fork_patch_onto_new_upstream_and_pushes(live: Processes, served: GitHttpServer,
                                                              tmp_path: Path, repo_name: str) -> None:
    api = live.api
    upstream = Forge(tmp_path / "srv", "upstream")
    upstream.commit("README", "v1\n", "upstream v1")
    fork = Forge(tmp_path / "srv", "fork")
    git(fork.work, "pull", "-q", str(upstream.bare), "main")
    patch = make_commit(fork.work, "PATCH", "internal\n", "our internal patch", branch="main")
    push(fork.work, "main")
    with GitHttpServer(tmp_path / "srv") as http:
        up_url, fork_url = http.url("upstream.git"), http.url("fork.git")
        api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": fork_url}, status=201)
        api.wait_repo(repo_name)
        added = api.ok("POST", f"/api/v1/repos/{repo_name}/remotes", {"name": "upstream", "url": up_url}, status=201)
        api.wait_job(added["job"]["id"])
        api.ok("POST", f"/api/v1/repos/{repo_name}/rules", {"name": "follow-upstream", "remote": "upstream",
               "branch": "main", "strategy": "rebase", "push_to": "origin", "allow_force": True}, status=201)

        new_upstream = upstream.commit("README", "v2\n", "upstream v2")
        r = deliver(live, signing.github(signing.github_push(up_url, after=new_upstream), HOOK_SECRET))
        assert r.status_code == 202
        wait_until(lambda: any(j["kind"] == "sync" and j["state"] in ("done", "failed") for j in
                               api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=sync")["jobs"]), timeout=10)
        (sync,) = api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=sync")["jobs"]
        assert (sync["state"], sync["trigger"]) == ("done", "rule"), sync
        assert sync["result"]["pull"]["outcome"] == "rebased"
        assert sync["result"]["push"]["outcome"] == "pushed"
        assert sync["result"]["push"]["backup_ref"]  # the fork's old history is kept
        # the fork now has upstream v2 with our patch replayed on top
        tip = branch_sha(fork.bare, "main")
        assert git(fork.bare, "rev-parse", f"{tip}^") == new_upstream
        assert git(fork.bare, "log", "-1", "--format=%s", tip) == "our internal patch"
        assert tip != patch
        # the rule's own push, reported back by the fork's forge, sets off nothing more
        r = deliver(live, signing.github(signing.github_push(fork_url, after=tip), HOOK_SECRET))
        api.wait_job(r.json()["jobs"][0])
        time.sleep(0.5)
        assert len(api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=sync")["jobs"]) == 1


class Receiver:
    """A notification receiver that fails its first `failures` requests and checks signatures."""

    def __init__(self, secret: str, failures: int = 0):
        self.secret = secret
        self.failures = failures
        self.received: list[tuple[dict, bool]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                want = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                good = hmac.compare_digest(want, self.headers.get("X-Gitferry-Signature-256", ""))
                receiver.received.append((json.loads(body), good))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gitferry"


def test_finished_jobs_are_notified_signed_with_retries(live: Processes, forge: Forge, repo_name: str) -> None:
    api = live.api
    receiver = Receiver("notify-secret", failures=2)
    try:
        api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
        api.wait_repo(repo_name)
        repo = api.ok("PATCH", f"/api/v1/repos/{repo_name}", {"notify_url": receiver.url,
                                                               "notify_secret": "notify-secret"})
        assert repo["notify_secret_set"] is True and "notify_secret" not in repo
        job = api.run(f"/api/v1/repos/{repo_name}/fetch", {})
        wait_until(lambda: receiver.received, timeout=10)  # 503, 503, then 204 after 1 s + 2 s back-off
        (payload, signed_right), = receiver.received
        assert signed_right
        assert payload == api.ok("GET", f"/api/v1/jobs/{job['id']}")
    finally:
        receiver.server.shutdown()


# Each forge's delivery for a push to http://<server>/acme/widgets.git, as that forge sends it.
FORGE_DELIVERIES = {
    "github": ("github", lambda url: signing.github(signing.github_push(url), HOOK_SECRET)),
    "gitlab": ("gitlab", lambda url: signing.gitlab(signing.gitlab_push(url, "acme/widgets"), HOOK_SECRET)),
    "bitbucket-cloud": ("bitbucket", lambda url: signing.bitbucket_cloud(signing.bitbucket_cloud_push("acme/widgets"),
                                                                         HOOK_SECRET)),
    "bitbucket-server": ("bitbucket", lambda url: signing.bitbucket_server(signing.bitbucket_server_push(url),
                                                                           HOOK_SECRET)),
    "gitea": ("gitea", lambda url: signing.gitea(signing.github_push(url), HOOK_SECRET)),
    "forgejo": ("gitea", lambda url: signing.gitea(signing.github_push(url), HOOK_SECRET, forgejo=True)),
    "azure-devops": ("azure-devops", lambda url: signing.azure(signing.azure_push(url), HOOK_SECRET)),
}


@pytest.mark.parametrize("forge_kind", list(FORGE_DELIVERIES))
def test_every_forge_end_to_end(live: Processes, tmp_path: Path, repo_name: str, forge_kind: str) -> None:
    api = live.api
    upstream = Forge(tmp_path / "srv" / "acme", "widgets")
    upstream.commit("README", "one\n", "first")
    with GitHttpServer(tmp_path / "srv") as http:
        url = http.url("acme/widgets.git")
        if forge_kind == "bitbucket-cloud":
            # Bitbucket Cloud names the repository only by its full name on the forge's host.
            api.ok("POST", "/api/v1/forges", {"kind": "bitbucket-cloud", "host": http.netloc,
                                              "api_url": f"https://{http.netloc}"}, status=201)
            time.sleep(2.1)  # web processes re-read the forges at most every 2 s
        try:
            api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": url}, status=201)
            api.wait_repo(repo_name)
            new = upstream.commit("README", "two\n", f"pushed to {forge_kind}")
            endpoint, delivery = FORGE_DELIVERIES[forge_kind]
            r = deliver(live, delivery(url), endpoint)
            assert r.status_code == 202 and "jobs" in r.json(), r.text
            job = api.wait_job(r.json()["jobs"][0])
            assert (job["state"], job["trigger"]) == ("done", "webhook"), job
            assert remote_sha(api, repo_name, "origin", "main") == new
        finally:
            api.call("DELETE", f"/api/v1/forges/{http.netloc}")
