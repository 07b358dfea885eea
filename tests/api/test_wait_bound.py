"""Calls that wait on a job are bounded per web process: past the bound they get 429 with
Retry-After before anything is recorded, and webhooks and health checks keep answering however
many calls wait (no worker runs here, so every waiting call waits its whole ?wait)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
from flask.testing import FlaskClient

from service.cli import WAITS
from service.settings import Settings
from service.web import create_app
from tests.api.test_bad_input import assert_json_error
from tests.hooks import signing
from tests.support.live import ADMIN, HOOK_SECRET, Processes

AUTH = {"Authorization": f"Bearer {ADMIN}"}
URL = "https://github.com/acme/widgets.git"
R = "/api/v1/repos/acme/widgets"
OWN_FETCH = {"remote": "origin", "prune": False}  # not joined to a queued twin: a job per call


def api_jobs(client: FlaskClient) -> list[dict[str, Any]]:
    found = client.get("/api/v1/jobs?limit=500", headers=AUTH).json["jobs"]  # type: ignore[index]
    return [job for job in found if job["trigger"] == "api"]


def test_calls_past_the_bound_are_refused_before_anything_is_recorded(settings: Settings) -> None:
    app = create_app(settings, max_waits=1)
    client = app.test_client()
    assert client.post("/api/v1/repos", json={"name": "acme/widgets", "url": URL}, headers=AUTH).status_code == 201
    answers: list[int] = []
    waiting = threading.Thread(target=lambda: answers.append(
        app.test_client().post(f"{R}/fetch?wait=2", json=OWN_FETCH, headers=AUTH).status_code))
    waiting.start()
    deadline = time.monotonic() + 5
    while not any(job["kind"] == "fetch" for job in api_jobs(client)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    before = api_jobs(client)
    for path, body in [(f"{R}/fetch?wait=5", OWN_FETCH), (f"{R}/fetch?wait=5", {"prune": False}),
                       (f"{R}/pull?wait=5", {"branch": "main"}),
                       (f"{R}/branches", {"name": "topic", "start_point": "origin/main"})]:  # answered once made
        refused = client.post(path, json=body, headers=AUTH)
        assert_json_error(refused, 429, "too_many_waits")
        assert refused.headers["Retry-After"] == "2"
    assert client.post(f"{R}/fetch", json=OWN_FETCH, headers=AUTH).status_code == 202  # not waiting: no bound
    assert client.post(f"{R}/fetch?wait=0", json=OWN_FETCH, headers=AUTH).status_code == 202
    assert len(api_jobs(client)) == len(before) + 2
    waiting.join(10)
    assert answers == [202]  # the wait ran out: the job is still queued
    assert client.post(f"{R}/fetch?wait=0.1", json=OWN_FETCH, headers=AUTH).status_code == 202  # its place is free


# --- a thousand waiting calls against a live web ----------------------------------------------------

CALLS = 1000
HELD = 12  # seconds each waiting call that found a place waits (?wait)
WATCHED = 8  # seconds webhooks and health checks are timed, from the start of the burst


async def _post(port: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One call on its own connection, read until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                 .encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, payload


def _burst(port: int, out: list[tuple[int, dict[str, str], bytes]]) -> None:
    async def all_at_once() -> None:
        body = json.dumps(OWN_FETCH).encode()
        calls = [_post(port, f"{R}/fetch?wait={HELD}", body) for _ in range(CALLS)]
        out.extend(await asyncio.wait_for(asyncio.gather(*calls), HELD + 60))

    asyncio.run(all_at_once())


def _timed(method: str, url: str, **kwargs: Any) -> tuple[float, int]:
    """How long a call took on a new connection (as forges and load balancers open them), and its status."""
    started = time.monotonic()
    status = requests.request(method, url, timeout=30, **kwargs).status_code
    return time.monotonic() - started, status


def test_a_thousand_waiting_calls_leave_webhooks_and_health_answering(tmp_path: Path) -> None:
    procs = Processes(tmp_path, {"GITFERRY_WEBHOOK_SECRET": HOOK_SECRET, "GITFERRY_FETCH_INTERVAL": "0"})
    procs.web()  # 2 processes x 16 threads, and no worker: every job stays queued
    try:
        api = procs.api
        api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": URL}, status=201)
        answers: list[tuple[int, dict[str, str], bytes]] = []
        burst = threading.Thread(target=_burst, args=(procs.port, answers))
        hook_times: list[tuple[float, int]] = []
        health_times: list[tuple[float, int]] = []
        burst.start()
        watch_until = time.monotonic() + WATCHED
        while time.monotonic() < watch_until:
            body, headers = signing.github(signing.github_push(URL), HOOK_SECRET)
            hook_times.append(_timed("POST", f"{api.base}/hooks/github", data=body, headers=headers))
            health_times.append(_timed("GET", f"{api.base}/healthz"))
            time.sleep(0.02)
        burst.join(HELD + 90)
        assert len(answers) == CALLS

        statuses = [status for status, _, _ in answers]
        waited = statuses.count(202)  # a place, then the wait ran out with the job still queued
        assert statuses.count(429) == CALLS - waited
        assert WAITS <= waited <= 2 * WAITS, waited
        for status, headers, payload in answers:
            if status == 429:
                assert headers["retry-after"] == "2" and json.loads(payload)["error"]["code"] == "too_many_waits"
        recorded = [j for j in api.ok("GET", "/api/v1/jobs?kind=fetch&limit=500")["jobs"] if j["trigger"] == "api"]
        assert len(recorded) == waited  # a refused call recorded nothing

        assert {status for _, status in hook_times} == {202}
        assert {status for _, status in health_times} == {200}
        hook_seconds = sorted(took for took, _ in hook_times)
        health_seconds = sorted(took for took, _ in health_times)
        print(f"webhooks: {len(hook_seconds)}, p50 {hook_seconds[len(hook_seconds) // 2] * 1000:.0f} ms, "
              f"p99 {p99(hook_seconds) * 1000:.0f} ms, max {hook_seconds[-1] * 1000:.0f} ms; health p99 "
              f"{p99(health_seconds) * 1000:.0f} ms, max {health_seconds[-1] * 1000:.0f} ms; {waited} calls waited")
        # p99, not the maximum: a new connection can queue behind the burst's thousand in the
        # kernel's accept queue (the server takes them a loop at a time), whatever the service does.
        assert p99(hook_seconds) < 1.0 and p99(health_seconds) < 1.0
    finally:
        procs.stop_all()


def p99(seconds: list[float]) -> float:
    return seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]
