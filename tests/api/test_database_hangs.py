"""A live `gitferry serve` on PostgreSQL behind a proxy that black-holes it (accepts, never
relays): health answers within 2 s, API calls and webhooks get a JSON 503 with Retry-After
within the database timeouts, and once the proxy relays again everything works and nothing
answered 2xx is lost."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import make_url

from service.store.timeouts import GRACE, TICK
from tests.conftest import Forge
from tests.hooks import signing
from tests.support.git_http import GitHttpServer
from tests.support.live import ADMIN, HOOK_SECRET, Processes
from tests.support.proxy import FaultProxy
from tests.support.services import postgres_database

CONNECT, STATEMENT = 2, 1  # seconds: GITFERRY_DB_CONNECT_TIMEOUT, GITFERRY_DB_STATEMENT_TIMEOUT
# How long a call waits for the database that hangs: a new connection gives up after the connect
# timeout, and so does the ping of one that sat idle; one in use is cut off after the statement
# timeout and a grace second. A webhook may wait twice: deliveries that arrived while a batch
# waited are the next batch. Plus scheduling on a busy two-core machine.
ROUND = max(CONNECT, STATEMENT + GRACE) + TICK
SLACK = 1.5
OUTAGE = 8  # seconds
REPO = "acme/widgets"


@dataclass
class Answer:
    kind: str  # "hook" or "fetch"
    sent: float
    took: float
    status: int
    headers: dict[str, str]
    body: Any
    delivery: tuple[bytes, dict[str, str]] | None = None


class Traffic:
    """Webhooks and API fetches, one after another on each of `threads` threads, until stopped."""

    def __init__(self, base: str, url: str, threads: int = 3):
        self.base, self.url = base, url
        self.answers: list[Answer] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            delivery = signing.github(signing.github_push(self.url), HOOK_SECRET)
            self._call("hook", "/hooks/github", data=delivery[0], headers=delivery[1], delivery=delivery)
            self._call("fetch", f"/api/v1/repos/{REPO}/fetch", json={},
                       headers={"Authorization": f"Bearer {ADMIN}"})
            time.sleep(0.05)

    def _call(self, kind: str, path: str, delivery: tuple[bytes, dict[str, str]] | None = None,
              **kwargs: Any) -> None:
        sent = time.monotonic()
        r = requests.post(self.base + path, timeout=60, **kwargs)
        body = r.json() if r.headers.get("Content-Type") == "application/json" else r.text
        self.answers.append(Answer(kind, sent, time.monotonic() - sent, r.status_code, dict(r.headers), body,
                                   delivery))

    def end(self) -> list[Answer]:
        self.stop.set()
        for thread in self.threads:
            thread.join(90)
        return self.answers


def timed_health(base: str) -> tuple[float, requests.Response]:
    started = time.monotonic()
    r = requests.get(base + "/healthz", timeout=10)
    return time.monotonic() - started, r


def test_a_hung_database_is_answered_503_in_time_and_loses_nothing(tmp_path: Path, forge: Forge) -> None:
    with postgres_database() as url, GitHttpServer(forge.bare.parent) as http:
        direct = make_url(url)
        proxy = FaultProxy((direct.host or "127.0.0.1", direct.port or 5432))
        proxied = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        (tmp_path / "serve").mkdir()
        procs = Processes(tmp_path / "serve", {
            "GITFERRY_DATABASE_URL": proxied, "GITFERRY_DB_CONNECT_TIMEOUT": str(CONNECT),
            "GITFERRY_DB_STATEMENT_TIMEOUT": str(STATEMENT), "GITFERRY_WEBHOOK_SECRET": HOOK_SECRET,
            "GITFERRY_FETCH_INTERVAL": "0", "GITFERRY_JOB_LEASE": "5"})
        try:
            procs.serve()
            api = procs.api
            clone_url = http.url(forge.bare.name)
            api.ok("POST", "/api/v1/repos", {"name": REPO, "url": clone_url}, status=201)
            api.wait_repo(REPO)
            traffic = Traffic(api.base, clone_url)
            time.sleep(2)

            proxy.black_hole()
            outage = time.monotonic()
            time.sleep(2 * ROUND)  # calls under way when it began have been answered by now
            health = [timed_health(api.base) for _ in range(4)]
            started = time.monotonic()
            listing = api.call("GET", "/api/v1/repos")
            listing_took = time.monotonic() - started
            time.sleep(max(0.0, outage + OUTAGE - time.monotonic()))
            proxy.relay()
            back = time.monotonic()
            deadline = back + 20
            while (r := timed_health(api.base)[1]).status_code != 200:
                assert time.monotonic() < deadline, r.text
                time.sleep(0.2)
            recovered = time.monotonic() - back
            time.sleep(2)
            answers = traffic.end()

            for took, r in health:
                assert took < 2.0 and r.status_code == 503, (took, r.text)
                assert "database" in r.json()["problems"], r.text
            assert listing_took < ROUND + SLACK, listing_took
            assert_database_unavailable(listing.status_code, dict(listing.headers), listing.json())
            refused = sum(a.status == 503 for a in answers)
            print(f"health while black-holed: {max(t for t, _ in health) * 1000:.0f} ms at most; "
                  f"API 503 in {listing_took:.2f} s; healthy {recovered:.1f} s after; {len(answers)} calls "
                  f"({refused} answered 503), slowest {max(a.took for a in answers):.2f} s")

            assert {a.status for a in answers} <= {202, 503}, {a.status for a in answers}
            assert any(a.status == 503 for a in answers)  # the outage was seen
            assert all(a.status == 202 for a in answers if a.sent > back + 3)  # and it is over
            for a in answers:
                assert a.took < (2 if a.kind == "hook" else 1) * ROUND + SLACK, (a.kind, a.took, a.status)
                if a.status == 503:
                    assert_database_unavailable(a.status, a.headers, a.body)
            assert_nothing_lost(api, answers)
        finally:
            procs.stop_all()
            proxy.close()


def assert_database_unavailable(status: int, headers: dict[str, str], body: Any) -> None:
    assert status == 503, body
    assert body["error"]["code"] == "database_unavailable", body
    assert int(headers["Retry-After"]) >= 1


def assert_nothing_lost(api: Any, answers: list[Answer]) -> None:
    """Every job answered 202 runs to its end, and every delivery answered 202 is recorded with
    the jobs it was answered with (sent again, it is seen before)."""
    jobs: set[int] = set()
    for a in answers:
        if a.status != 202:
            continue
        if a.kind == "fetch":
            jobs.add(a.body["job"]["id"])
            continue
        assert a.delivery is not None
        jobs.update(a.body["jobs"])
        body, headers = a.delivery
        again = requests.post(f"{api.base}/hooks/github", data=body, headers=headers, timeout=30)
        assert (again.status_code, again.json()) == (202, a.body)
    assert jobs
    for job_id in sorted(jobs):
        job = api.wait_job(job_id, timeout=60)
        assert job["state"] == "done", job
