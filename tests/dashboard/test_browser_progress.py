"""A running clone's progress bar and then its outcome arrive on the jobs page live, without a reload:
a clone served over smart HTTP through a proxy that slows it to a few seconds. In real headless
Chromium against a live `gitferry serve`; screenshots under test-artifacts/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.dashboard.test_browser import browser, shot, signed_in
from tests.support.git_http import GitHttpServer
from tests.support.live import Processes
from tests.support.proxy import HoldingProxy
from tests.support.repos import git, init_forge

__all__ = ["browser"]  # the module's browser, shared

FILES, FILE_SIZE = 400, 8192  # random, so nothing compresses: about 3.3 MB
RATE = 600_000  # bytes a second through the proxy: the clone takes about 5 s


@pytest.fixture
def slow_url(tmp_path: Path) -> Iterator[str]:
    """A repo of many objects, served over smart HTTP through the slow proxy."""
    bare = init_forge(tmp_path / "srv" / "big.git")
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(bare), str(work))
    for n in range(FILES):
        (work / f"blob-{n:04d}.bin").write_bytes(os.urandom(FILE_SIZE))
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "many random files")
    git(work, "push", "--quiet", "origin", "main")
    with GitHttpServer(tmp_path / "srv") as server:
        proxy = HoldingProxy(("127.0.0.1", int(server.netloc.rsplit(":", 1)[1])), rate=RATE)
        proxy.release()  # at once: it is here to slow the answers, not to hold them
        try:
            yield f"http://127.0.0.1:{proxy.port}/big.git"
        finally:
            proxy.close()


def test_a_clones_progress_bar_and_outcome_arrive_live(browser: Browser, live: Processes, slow_url: str,
                                                       repo_name: str) -> None:
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/jobs?repo={repo_name}")
    expect(page.locator("#jobs")).to_contain_text("No jobs yet.")
    page.evaluate("window.stillTheSamePage = true")  # gone if the page were reloaded
    job = live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": slow_url}, status=201)["job"]

    row = page.locator(f'#jobs tr[data-job="{job["id"]}"]')
    bar = row.locator("progress")
    expect(bar).to_be_visible()
    expect(row.locator(".small")).to_have_text(re.compile(r"^Receiving objects \d{1,3}%$"))
    first = int(bar.get_attribute("value") or 0)
    expect(row.locator(".badge")).to_have_text("running")
    shot(page, "job-progress-running")
    # The bar moves on as git reports, still on the same page.
    expect(bar).not_to_have_attribute("value", str(first))
    assert page.evaluate("window.stillTheSamePage") is True

    expect(row.locator(".badge")).to_have_text("done", timeout=60_000)
    expect(row.locator("progress")).to_have_count(0)
    expect(row.locator("details.result > summary")).to_have_text("cloned")
    row.locator("details.result > summary").click()
    expect(row.locator(".job-result")).to_contain_text(f"Cloned {slow_url}; default branch main.")
    assert page.evaluate("window.stillTheSamePage") is True
    shot(page, "job-progress-done")
    page.context.close()
