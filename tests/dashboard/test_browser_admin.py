"""The admin pages in real headless Chromium against a live `gitferry serve`: a forge's token tested
from its row, refused webhook deliveries and a failing notify URL; screenshots under test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.dashboard.conftest import sign_in_over_http
from tests.dashboard.test_browser import browser, shot, signed_in
from tests.forges.conftest import TOKEN, start_fake
from tests.hooks import signing
from tests.hooks.test_live_hooks import wait_until
from tests.support.fake_forges import ACCOUNT
from tests.support.live import Processes

__all__ = ["browser"]  # the module's browser, shared
WRONG = "revoked-t0ken-4f1d2c"


@pytest.fixture
def failing_receiver() -> Iterator[str]:
    """A notify URL whose receiver answers every notification 503."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(503)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/T0/SECRET-PATH"
    server.shutdown()


def test_a_forges_token_is_tested_from_its_row(browser: Browser, live: Processes, tmp_path: Path) -> None:
    good, bad = start_fake("github", tmp_path / "good"), start_fake("gitea", tmp_path / "bad")
    try:
        live.api.ok("POST", "/api/v1/forges", good.entry, status=201)
        live.api.ok("POST", "/api/v1/forges", {**bad.entry, "token": WRONG}, status=201)
        page = signed_in(browser, live)
        page.goto(f"{live.api.base}/dashboard/forges")
        for setup, shown in ((good, f"Token accepted belongs to {ACCOUNT}"), (bad, "Token refused")):
            row = page.locator("tbody tr", has_text=setup.fake.netloc)
            row.get_by_role("button", name=f"Test token of {setup.fake.netloc}").click()
            expect(row.locator(".token-test")).to_contain_text(shown)
        expect(page.locator(".token-test.failed")).to_contain_text("Gitea refused the token")
        assert page.locator(".token-test").count() == 2
        content = page.content()
        assert TOKEN not in content and WRONG not in content
        shot(page, "admin-forges-token-test")
    finally:
        for setup in (good, bad):
            live.api.ok("DELETE", f"/api/v1/forges/{setup.fake.netloc}", status=204)
            setup.fake.stop()


def test_refused_deliveries_and_a_failing_notify_url_show_on_the_deliveries_page(
        browser: Browser, live: Processes, forge: Any, repo_name: str, failing_receiver: str) -> None:
    api = live.api
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    api.wait_repo(repo_name)
    api.ok("PATCH", f"/api/v1/repos/{repo_name}", {"notify_url": failing_receiver})
    job = api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    body, headers = signing.github(signing.github_push(forge.url), "a-forgers-guess",
                                   delivery="<b>forged</b>-7f3a")
    answer = requests.post(f"{api.base}/hooks/github", data=body, headers=headers, timeout=30)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "bad_signature"

    http, _ = sign_in_over_http(api.base)
    # The first attempt fails, the second comes a second later and fails as well.
    wait_until(lambda: _attempts(http.get(f"{api.base}/dashboard/deliveries", timeout=30).text, job["id"]) >= 2,
               timeout=20)

    page = signed_in(browser, live)
    page.goto(f"{api.base}/dashboard/deliveries?forge=github")
    refused = page.locator("tr.refused", has_text="<b>forged</b>-7f3a")
    expect(refused).to_contain_text("refused: bad signature")
    expect(refused).to_contain_text("127.0.0.1")
    note = page.locator("#notes-h ~ div tbody tr", has_text=str(job["id"])).first
    expect(note).to_contain_text("pending")
    expect(note).to_contain_text("HTTP 503")
    expect(note).to_contain_text("receiver answered 503")
    assert "SECRET-PATH" not in page.content() and "a-forgers-guess" not in page.content()
    shot(page, "admin-deliveries-refused")


def _attempts(page: str, job_id: int) -> int:
    """The attempts the deliveries page shows for the notification of job `job_id` (0: not listed)."""
    import re

    found = re.search(rf"<tr class=\"state-\w+\"><td>{job_id}</td><td>[^<]*</td>\s*<td>.*?</td>\s*<td>(\d+)</td>",
                      page, re.S)
    return int(found.group(1)) if found else 0
