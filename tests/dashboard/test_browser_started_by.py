"""Who started each job, on the jobs page in real headless Chromium against a live `gitferry serve`:
the token that queued it, or what triggered it. Screenshots under test-artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.dashboard.test_browser import browser, shot, signed_in
from tests.support.live import Processes

__all__ = ["browser"]  # the module's browser, shared


def test_the_jobs_page_names_the_token_that_started_each_job(browser: Browser, live: Processes, forge: Any,
                                                              repo_name: str) -> None:
    bot = f"ci-bot-{repo_name.rsplit('-', 1)[1]}"
    token = live.api.ok("POST", "/api/v1/tokens", {"name": bot, "scope": "write"}, status=201)["token"]
    clone = live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)["job"]
    live.api.wait_repo(repo_name)
    page = signed_in(browser, live, token)
    page.goto(f"{live.api.base}/dashboard/jobs?repo={repo_name}")
    expect(page.locator(f'#jobs tr[data-job="{clone["id"]}"] td.started-by')).to_have_text(
        "GITFERRY_ADMIN_TOKEN (token)")
    page.wait_for_timeout(300)  # the page is following the jobs
    fetch = live.api.ok("POST", f"/api/v1/repos/{repo_name}/fetch", {}, token=token)["job"]
    row = page.locator(f'#jobs tr[data-job="{fetch["id"]}"]')
    expect(row.locator("td.started-by")).to_have_text(f"{bot} (token)")  # arrived live, with its name
    expect(row).to_contain_text("nothing new")
    shot(page, "jobs-started-by")
    page.context.close()
