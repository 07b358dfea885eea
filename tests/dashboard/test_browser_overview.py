"""The overview's per-remote fetch times in real headless Chromium against a live `gitferry serve`:
a remote that fetches and one that keeps failing. Screenshot under test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect

from tests.dashboard.test_browser import browser, shot, signed_in
from tests.support.live import Processes
from tests.support.repos import file_url

__all__ = ["browser"]  # the module's browser, shared


def test_the_overview_says_how_each_remote_fetches(browser: Browser, live: Processes, forge: Any, repo_name: str,
                                                   tmp_path: Path) -> None:
    live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    live.api.wait_repo(repo_name)
    added = live.api.ok("POST", f"/api/v1/repos/{repo_name}/remotes",
                        {"name": "vanished", "url": file_url(tmp_path / "no-such-fork.git")}, status=(201, 202))
    live.api.wait_job(added["job"]["id"])
    for _ in range(2):  # two more fetches of every remote: origin's go through, vanished's fail
        assert live.api.run(f"/api/v1/repos/{repo_name}/fetch", {})["state"] == "failed"
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/?q={repo_name}")
    times = page.locator("#repos tbody tr ul.remote-times li")
    expect(times).to_have_count(2)
    expect(times.nth(0)).to_have_text(re.compile(r"^origin ✓ \d+ s ago$"))
    expect(times.nth(1)).to_have_text("vanished ✗ failing 3 times, last success never")
    expect(times.nth(1)).to_have_attribute("title", re.compile(
        r"^vanished: last attempt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; last success never; 3 failed in a row: "))
    shot(page, "overview-remote-times")
    page.context.close()
