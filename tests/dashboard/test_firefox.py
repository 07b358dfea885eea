"""The dashboard in real headless Firefox (Debian's firefox-esr, over WebDriver BiDi) against a live
`gitferry serve`: sign-in, htmx, the live jobs stream, and the layout at a phone's width.

Each test saves screenshots as test-artifacts/firefox-*.png (look at them when a page changes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.bidi import FIREFOX, Firefox, Tab, firefox
from tests.support.live import ADMIN, Processes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = 390  # px: a phone's width
# Every element that sticks out of the page's width, outside the boxes meant to scroll sideways
# (the tables' .scroll, the graph's .graph-scroll: any ancestor whose overflow-x is not visible).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth, out = [];
  const inScrollBox = (e) => {
    for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") { return true; }
    }
    return false;
  };
  for (const e of document.querySelectorAll("body *")) {
    const box = e.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !inScrollBox(e)) {
      out.push(`${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.classList} right=${Math.round(box.right)}`);
    }
  }
  return {page: document.documentElement.scrollWidth, width: width, out: out.slice(0, 8)};
}"""


@pytest.fixture(scope="module")
def firefox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firefox]:
    if not Path(FIREFOX).exists():
        pytest.fail(f"Firefox is not installed ({FIREFOX}): `apt-get install firefox-esr` (scripts/test does)")
    with firefox(tmp_path_factory.mktemp("firefox") / "profile") as browser:
        yield browser


@pytest.fixture
def browser(firefox_session: Firefox) -> Firefox:
    """The module's Firefox, its log emptied of what earlier tests' pages logged."""
    firefox_session.log.clear()
    return firefox_session


def signed_in(browser: Firefox, live: Processes, width: int = 1280) -> Tab:
    """A new tab with its own cookies, signed in through the token form."""
    tab = browser.new_tab(width=width)
    tab.navigate(f"{live.api.base}/")
    tab.wait_until("location.pathname === '/dashboard/sign-in'", "the dashboard asks to sign in")
    tab.type("#token", ADMIN)
    tab.click("button.primary")
    tab.wait_until("location.pathname === '/dashboard/' && document.readyState === 'complete'", "signed in")
    return tab


def shot(tab: Tab, name: str) -> None:
    """Save a screenshot; the pages so far broke no rule of the Content-Security-Policy and threw no error."""
    assert not tab.browser.csp_violations(), tab.browser.csp_violations()
    # Bar one: the jobs stream answers 204 when the server has no stream to spare (the page then polls
    # the table instead), and Firefox logs that as a connection it could not make.
    errors = [e.text for e in tab.browser.log if e.level == "error" and "/dashboard/jobs/stream" not in e.text]
    assert not errors, errors
    tab.screenshot(ARTIFACTS / f"firefox-{name}.png")


def has_text(selector: str, text: str) -> str:
    """A JavaScript condition: the element matching `selector` contains `text`."""
    return f"document.querySelector({json.dumps(selector)})?.textContent.includes({json.dumps(text)})"


def test_firefox_signs_in_adds_a_repo_and_follows_a_fetch_live(browser: Firefox, live: Processes, forge: Any,
                                                               repo_name: str) -> None:
    tab = signed_in(browser, live)
    add_repo_from_the_overview(tab, live, forge, repo_name)
    main = 'tr[data-branch="main"]'
    tab.wait_until(has_text(main, "origin/main") + " && " + has_text(f"{main} .behind", "↓ 0"),
                   "the repo page lists main with its upstream, none behind")

    # A second tab follows the repo's jobs; it is never reloaded (a mark set in it stays).
    jobs = tab.new_tab_like_this()
    jobs.navigate(f"{live.api.base}/dashboard/jobs?repo={repo_name}")
    jobs.evaluate("window.notReloaded = true")
    # Firefox's EventSource gets the stream's events (again while the server has no stream to spare:
    # streams of tabs closed a moment ago are freed on their next keep-alive).
    jobs.wait_until("""new Promise((answer) => {
        const stream = new EventSource(document.getElementById("jobs").dataset.stream);
        stream.addEventListener("jobs", () => { stream.close(); answer(true); });
        stream.addEventListener("error", () => { stream.close(); answer(false); });
    })""", "Firefox's EventSource gets an event from the jobs stream")

    forge.commit("news.txt", "news\n", "news on the forge")
    tab.click("#fetch")
    queued = tab.wait_until("document.querySelectorAll('#jobs tr.job').length === 2"
                            " && document.querySelector('#jobs tr.job').dataset.job", "the repo page lists the fetch")
    job = live.api.ok("GET", f"/api/v1/jobs/{queued}")
    assert job["kind"] == "fetch" and job["repo"] == repo_name, job
    jobs.wait_until(has_text(f'#jobs tr[data-job="{job["id"]}"] .badge', "done") + " && window.notReloaded",
                    "the jobs tab shows the fetch done, without a reload")
    jobs.click(f'#jobs tr[data-job="{job["id"]}"] details.result summary')
    jobs.wait_until(f"""document.querySelector('#jobs tr[data-job="{job["id"]}"] details.result pre')
                        ?.getBoundingClientRect().height > 0""", "the job's result opens")
    shot(jobs, "jobs-live")
    jobs.close()

    # The repo page shows main one behind; its count opens to the commit (an htmx request).
    tab.wait_until(has_text(f"{main} .behind", "↓ 1"), "main is one behind after the fetch")
    tab.click(f"{main} details.compare-of summary")
    tab.wait_until(has_text(f"{main} .compare-body", "news on the forge"), "the compare lists the commit behind")
    assert "Behind by 1" in tab.text(f"{main} .compare-body")
    shot(tab, "repo")
    tab.close()


def add_repo_from_the_overview(tab: Tab, live: Processes, forge: Any, repo_name: str) -> None:
    if not tab.evaluate("document.querySelector('details.add').open"):
        tab.click("details.add summary")
    tab.type("#repo-name", repo_name)
    tab.type("#repo-url", forge.url)
    tab.click("details.add button.primary")
    tab.wait_until(has_text(".notice.ok", f"Added {repo_name}; cloning it"), "the repo is added")
    live.api.wait_repo(repo_name)
    tab.type("#q", repo_name)  # the table follows the search as it is typed (htmx)
    tab.wait_until("document.querySelectorAll('#repos tbody tr').length === 1 && "
                   + has_text("#repos tbody tr", "ready"), "the search leaves the new repo, ready")
    shot(tab, "overview")
    tab.click("#repos tbody tr a")
    tab.wait_until("document.body.dataset.page === 'repo'", "the repo's page opens")


def test_firefox_at_a_phone_width_scrolls_tables_not_the_page(browser: Firefox, live: Processes, forge: Any,
                                                              repo_name: str) -> None:
    live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url})
    live.api.wait_repo(repo_name)
    live.api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    tab = signed_in(browser, live, width=PHONE)
    for name, path in [("overview", f"/dashboard/?q={repo_name}"), ("repo", f"/dashboard/repos/{repo_name}"),
                       ("jobs", f"/dashboard/jobs?repo={repo_name}")]:
        tab.navigate(live.api.base + path)
        tab.wait_until("document.readyState === 'complete' && document.querySelector('.scroll table')",
                       f"the {name} page shows its table")
        layout = tab.call(OVERFLOW)
        assert layout["page"] <= layout["width"] <= PHONE and not layout["out"], (name, layout)
        shot(tab, f"{name}-phone")
    # The overview's table is wider than the phone: a swipe scrolls it sideways inside its box, not the page.
    tab.navigate(f"{live.api.base}/dashboard/?q={repo_name}")
    box = "document.querySelector('#repos .scroll')"
    assert tab.evaluate(f"{box}.scrollWidth > {box}.clientWidth"), "the repos table fits: nothing to scroll"
    tab.scroll("#repos .scroll", right=300)
    tab.wait_until(f"{box}.scrollLeft > 0", "the table scrolls sideways")
    assert tab.evaluate("window.scrollX") == 0

    # From the keyboard: the first Tab reaches the skip link, which leads to the page's first control.
    tab.navigate(f"{live.api.base}/dashboard/repos/{repo_name}")
    tab.press("\ue004")  # Tab
    tab.wait_until("document.activeElement.matches('a.skip')", "the skip link has the focus")
    tab.press("\ue007", "\ue004")  # Enter, then Tab
    tab.wait_until("document.activeElement.id === 'fetch-remote'", "the toolbar's first control has the focus")
    tab.close()


def test_firefox_enforces_the_csp_and_reports_a_breach(browser: Firefox, live: Processes) -> None:
    """The checks above can fail: an inline style and handler on a dashboard page are blocked and logged."""
    tab = browser.new_tab()
    tab.navigate(f"{live.api.base}/dashboard/sign-in")
    tab.evaluate("""document.body.insertAdjacentHTML("beforeend",
                      '<p id="breach" style="color: red" onclick="alert(1)">breach</p>')""")
    deadline = time.monotonic() + 10
    while len(browser.csp_violations()) < 2 and time.monotonic() < deadline:
        tab.evaluate("0")  # each answer comes after the events logged before it
    blocked = browser.csp_violations()
    assert any("style-src-attr" in text for text in blocked) and any("script-src-attr" in text for text in blocked), \
        blocked
    assert tab.evaluate("getComputedStyle(document.getElementById('breach')).color") != "rgb(255, 0, 0)"
    tab.close()
