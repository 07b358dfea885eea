"""The dashboard in real headless Chromium against a live `gitferry serve`; plain git is the oracle.

Each test saves screenshots under test-artifacts/ (look at them when a page changes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.live import ADMIN, Processes
from tests.support.repos import branch_sha

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium; Playwright downloads no browser of its own
CONSOLE: list[str] = []  # the browser's console errors
WAIT = 20_000  # ms for a job to end and the page to show it
expect.set_options(timeout=WAIT)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def signed_in(browser: Browser, live: Processes, token: str = ADMIN, width: int = 1280) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    page.set_default_timeout(WAIT)
    page.on("console", lambda message: CONSOLE.append(message.text) if message.type == "error" else None)
    page.goto(f"{live.api.base}/")
    expect(page).to_have_url(f"{live.api.base}/dashboard/sign-in")
    page.fill("#token", token)
    page.click("button:text('Sign in')")
    expect(page).to_have_url(f"{live.api.base}/dashboard/")
    return page


def shot(page: Page, name: str) -> None:
    """Save a screenshot; the page so far broke no rule of the Content-Security-Policy."""
    assert not [text for text in CONSOLE if "Content Security Policy" in text], CONSOLE
    ARTIFACTS.mkdir(exist_ok=True)
    # Not while a repo page reloads itself (a job of the repo ended): such a screenshot never completes.
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def branch_row(page: Page, branch: str) -> Any:
    return page.locator(f'tr[data-branch="{branch}"]')


def test_an_admin_adds_a_repo_then_fetches_pulls_pushes_and_sets_upstreams(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    page = signed_in(browser, live)
    add_repo_from_the_overview(page, live, forge, repo_name)

    # Fetch all: the forge moved on, and main is one behind.
    forge.commit("news.txt", "news\n", "news on the forge")
    page.click("#fetch")
    expect(branch_row(page, "main").locator(".behind")).to_have_text("↓ 1")
    shot(page, "fetched-one-behind")

    # Pull with the strategy picked from the dropdown: main is where the forge's is.
    page.select_option("#pull-strategy", "ff-only")
    page.click("#pull")
    expect(branch_row(page, "main").locator(".behind")).to_have_text("↓ 0")
    listed = live.api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["branches"]
    assert next(b["sha"] for b in listed if b["name"] == "main") == branch_sha(forge.bare, "main")
    job = live.api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=pull")["jobs"][0]
    assert job["params"]["strategy"] == "ff-only" and job["state"] == "done"

    # The repo's default strategy is set from the same dropdown.
    page.select_option("#pull-strategy", "rebase")
    page.click("#make-default")
    expect(page.locator("#pull-strategy option[selected]")).to_have_text("rebase (default)")

    push_then_unset_and_set_the_upstream(page, live, forge, repo_name)
    page.context.close()


def add_repo_from_the_overview(page: Page, live: Processes, forge: Any, repo_name: str) -> None:
    if page.locator("details.add").get_attribute("open") is None:
        page.click("summary:text('Add a repo')")
    page.fill("#repo-name", repo_name)
    page.fill("#repo-url", forge.url)
    page.click("button:text('Add repo')")
    expect(page.locator(".notice.ok")).to_contain_text(f"Added {repo_name}; cloning it")
    live.api.wait_repo(repo_name)
    page.fill("#q", repo_name)  # the table follows the search as it is typed
    expect(page.locator("#repos tbody tr")).to_have_count(1)
    expect(page.locator("#repos tbody tr")).to_contain_text("ready")
    shot(page, "overview")
    page.get_by_role("link", name=repo_name).click()
    expect(branch_row(page, "main")).to_contain_text("origin/main")
    shot(page, "overview-then-repo")


def push_then_unset_and_set_the_upstream(page: Page, live: Processes, forge: Any, repo_name: str) -> None:
    # Push a branch with no upstream: the remote branch name is asked, pre-filled.
    live.api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "topic", "start_point": "main",
                                                                 "track": False})
    page.reload()
    row = branch_row(page, "topic")
    row.locator("summary:text('Push…')").click()
    expect(row.locator("input[name=remote_branch]")).to_have_value("topic")
    row.locator("input[name=remote_branch]").fill("topic-on-forge")
    shot(page, "push-asks-remote-branch")
    row.locator("button:text('Push topic')").click()
    expect(branch_row(page, "topic")).to_contain_text("origin/topic-on-forge")
    assert branch_sha(forge.bare, "topic-on-forge") == branch_sha(forge.bare, "main")

    # Unset and set the upstream from the branch's menu.
    branch_row(page, "topic").locator("summary:text('Upstream…')").click()
    branch_row(page, "topic").locator("button:text('Unset upstream')").click()
    expect(page.locator(".notice.ok")).to_have_text("topic has no upstream now.")
    expect(branch_row(page, "topic").locator("td").nth(1)).to_have_text("none")
    branch_row(page, "topic").locator("summary:text('Upstream…')").click()
    branch_row(page, "topic").locator("input[name=upstream]").fill("origin/topic-on-forge")
    branch_row(page, "topic").locator("button:text('Set upstream')").click()
    expect(branch_row(page, "topic").locator("td").nth(1)).to_have_text("origin/topic-on-forge")
    listed = live.api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["branches"]
    assert next(b["upstream"] for b in listed if b["name"] == "topic") == "origin/topic-on-forge"
    shot(page, "repo-page")


def test_jobs_arrive_live_with_their_outcome(browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url})
    live.api.wait_repo(repo_name)
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/jobs?repo={repo_name}")
    expect(page.locator("#jobs tr.job")).to_have_count(1)
    page.wait_for_timeout(300)  # the page is following the jobs
    job = live.api.ok("POST", f"/api/v1/repos/{repo_name}/fetch", {})["job"]
    row = page.locator(f'#jobs tr[data-job="{job["id"]}"]')
    expect(row).to_contain_text("nothing new")  # no reload: the stream said the jobs changed
    row.locator("details.result > summary").click()
    expect(row.locator(".job-result")).to_contain_text("origin: nothing new.")  # the result in words
    shot(page, "jobs-live")
    page.context.close()


def test_a_read_token_sees_the_repo_but_cannot_act(browser: Browser, live: Processes, forge: Any,
                                                   repo_name: str) -> None:
    live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url})
    live.api.wait_repo(repo_name)
    reader = live.api.ok("POST", "/api/v1/tokens", {"name": f"reader-{repo_name.rsplit('-', 1)[1]}",
                                                     "scope": "read"})["token"]
    page = signed_in(browser, live, reader, width=390)  # and at a phone's width
    page.goto(f"{live.api.base}/dashboard/repos/{repo_name}")
    page.keyboard.press("Tab")  # the keyboard's first stop skips to the page's content
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#fetch-remote")).to_be_focused()
    expect(page.locator("#fetch")).to_be_disabled()
    expect(page.locator("#pull")).to_be_disabled()
    expect(page.locator("#fetch")).to_have_attribute("title", "needs a write or admin token")
    expect(page.locator(".why")).to_contain_text("needs a write or admin token")
    expect(page.locator("header nav")).not_to_contain_text("Tokens")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the tables scroll, not the page
    shot(page, "read-token-phone")
    page.context.close()
