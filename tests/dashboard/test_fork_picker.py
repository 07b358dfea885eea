"""The repo page's "+ Add a remote" from the forge's fork list, through a live `gitferry serve` pointed at a fake
GitHub: the list is the forge's, adding one makes a remote that fetches, a read token cannot add, and a repo on no
forge or a failing forge says why."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.conftest import Forge
from tests.dashboard.conftest import sign_in_over_http
from tests.dashboard.test_browser import browser, shot, signed_in
from tests.forges.conftest import Setup, start_fake
from tests.support.live import Api, Processes
from tests.support.repos import commit_to

__all__ = ["browser"]  # the browser tests' browser, shared
HOSTILE = '<img src=x onerror=alert(1)>"\u202e'
REPO = "acme/widgets"


@dataclass
class Live:
    api: Api
    setup: Setup
    http: requests.Session
    csrf: str
    procs: Processes


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("fork-picker")
    setup = start_fake("github", root / "forge")
    setup.fake.add_fork(setup.origin, "mallory/widgets", owner=HOSTILE)
    config = root / "forges.toml"
    config.write_text("[[forges]]\n" + "".join(f'{k} = "{v}"\n' for k, v in setup.entry.items()))
    procs = Processes(root / "data", {"GITFERRY_FETCH_INTERVAL": "0", "GITFERRY_CONFIG": str(config)})
    procs.data_dir.mkdir()
    try:
        procs.serve()
        procs.api.ok("POST", "/api/v1/repos", {"name": REPO, "url": setup.origin_url}, status=201)
        procs.api.wait_repo(REPO)
        http, csrf = sign_in_over_http(procs.api.base)
        yield Live(procs.api, setup, http, csrf, procs)
    finally:
        procs.stop_all()
        setup.fake.stop()


def forks_part(http: requests.Session, base: str, repo: str) -> requests.Response:
    """The part "+ Add a remote" loads when it opens: the address comes from the repo page itself."""
    page = http.get(f"{base}/dashboard/repos/{repo}", timeout=30).text
    found = re.search(r'class="from-forks" hx-get="([^"]+)"', page)
    assert found, page[:3000]
    assert ("From GitHub's forks" if repo != "plain/repo" else "From the forge's forks") in page
    return http.get(base + html.unescape(found.group(1)), headers={"HX-Request": "true"}, timeout=30)


def listed(part: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'name="fork" value="([^"]+)"', part)]


def test_the_list_is_the_forges_and_adding_one_fetches_it(live: Live, tmp_path: Path) -> None:
    fake = live.setup.fake
    sha = commit_to(fake.root / fake.repos["bob/widgets"].git_path, "feature", "f.txt", "bob's work\n", "on bob's",
                    tmp_path / "scratch")
    part = forks_part(live.http, live.api.base, REPO)
    assert part.status_code == 200
    assert "From GitHub's forks" in part.text
    assert sorted(listed(part.text)) == sorted([*live.setup.forks, "mallory/widgets"])
    bob = part.text.split('data-fork="bob/widgets"', 1)[1].split("</li>", 1)[0]
    assert f'href="{fake.base}/bob/widgets"' in bob and 'value="bob"' in bob and "disabled" not in bob
    added = live.http.post(f"{live.api.base}/dashboard/repos/{REPO}/remotes", timeout=30,
                           data={"csrf": live.csrf, "fork": "bob/widgets", "name": "bobs"})
    assert added.status_code == 200 and "Added remote bobs; fetching it" in added.text, added.text[:3000]
    remotes = {r["name"]: r["url"] for r in live.api.ok("GET", f"/api/v1/repos/{REPO}/remotes")["remotes"]}
    assert remotes["bobs"] == fake.url_of(fake.repos["bob/widgets"])
    job = live.api.run(f"/api/v1/repos/{REPO}/fetch", {"remote": "bobs"})
    assert job["state"] == "done", job
    branches = live.api.ok("GET", f"/api/v1/repos/{REPO}/branches")["remote_branches"]
    assert {"remote": "bobs", "name": "feature", "sha": sha} in branches


def test_a_hostile_owner_is_shown_as_text(live: Live) -> None:
    part = forks_part(live.http, live.api.base, REPO).text
    mallory = part.split('data-fork="mallory/widgets"', 1)[1].split("</li>", 1)[0]
    assert "<img src=x" not in mallory and "\u202e" not in mallory
    assert "(owner <bdi>&lt;img src=x onerror=alert(1)&gt;&#34;[U+202E]</bdi>)" in mallory
    assert 'value="img-src-x-onerror-alert-1"' in mallory  # the remote name made from it is a plain one


def test_a_read_token_sees_the_forks_but_cannot_add(live: Live) -> None:
    read = live.api.ok("POST", "/api/v1/tokens", {"name": "reader", "scope": "read"}, status=201)["token"]
    http, csrf = sign_in_over_http(live.api.base, read)
    part = forks_part(http, live.api.base, REPO).text
    assert sorted(listed(part)) == sorted([*live.setup.forks, "mallory/widgets"])
    assert part.count('disabled title="needs an admin token"') == len(listed(part))
    refused = http.post(f"{live.api.base}/dashboard/repos/{REPO}/remotes", timeout=30,
                        data={"csrf": csrf, "fork": "carol/widgets", "name": "carol"})
    assert refused.status_code == 403 and "needs an admin token" in refused.text
    remotes = [r["name"] for r in live.api.ok("GET", f"/api/v1/repos/{REPO}/remotes")["remotes"]]
    assert "carol" not in remotes


def test_a_repo_on_no_forge_says_why(live: Live, tmp_path: Path) -> None:
    forge = Forge(tmp_path)
    forge.commit("README", "hi\n", "first")
    live.api.ok("POST", "/api/v1/repos", {"name": "plain/repo", "url": forge.url}, status=201)
    part = forks_part(live.http, live.api.base, "plain/repo")
    assert part.status_code == 422
    assert "origin is not on a forge host; forks need a forge integration" in part.text


def test_a_forge_failure_shows_its_message(live: Live) -> None:
    fake = live.setup.fake
    live.api.ok("POST", "/api/v1/repos", {"name": "alice/widgets", "url": fake.url_of(fake.repos["alice/widgets"])},
                status=201)
    live.api.wait_repo("alice/widgets")
    fake.fail(404, body={"message": "Not Found"})
    part = forks_part(live.http, live.api.base, "alice/widgets")
    assert part.status_code == 502, part.text
    assert 'role="alert"' in part.text and "GitHub does not know this repository" in part.text


def test_a_fork_the_forge_does_not_list_is_refused(live: Live) -> None:
    before = live.api.ok("GET", f"/api/v1/repos/{REPO}/remotes")["remotes"]
    refused = live.http.post(f"{live.api.base}/dashboard/repos/{REPO}/remotes", timeout=30,
                             data={"csrf": live.csrf, "fork": "nobody/none", "name": "nobody"})
    assert refused.status_code == 404 and "github lists no fork named &#39;nobody/none&#39;" in refused.text
    assert live.api.ok("GET", f"/api/v1/repos/{REPO}/remotes")["remotes"] == before


def settled(api: Api) -> None:
    """Every job of the repo has ended. A repo page reloads itself when one ends, and a screenshot
    taken while the page reloads never completes (seen as a 60 s timeout)."""
    for job in api.ok("GET", f"/api/v1/jobs?repo={REPO}")["jobs"]:
        if job["state"] in ("queued", "running"):
            assert api.wait_job(job["id"])["state"] in ("done", "failed")


def test_in_the_browser_a_fork_is_picked_from_the_list_and_becomes_a_remote(browser: Browser, live: Live) -> None:
    page = signed_in(browser, live.procs)
    settled(live.api)
    page.goto(f"{live.api.base}/dashboard/repos/{REPO}")
    page.click("details.add > summary")
    page.click("details.from-forks > summary")  # the list is asked of the forge only now
    dave = page.locator('li.fork[data-fork="dave/w"]')
    expect(dave).to_be_visible()
    expect(dave.locator("img.icon")).to_have_attribute("alt", "GitHub")
    expect(page.locator("li.fork")).to_have_count(len(live.setup.forks) + 1)
    shot(page, "fork-picker")
    dave.get_by_label("Remote name").fill("daves")
    dave.get_by_role("button", name="Add as remote").click()
    expect(page.locator("p.notice")).to_contain_text("Added remote daves")
    settled(live.api)  # the fetch of the new remote; this page may still reload itself for it, so
    page = page.context.new_page()  # the screenshot is of a page loaded after it
    page.goto(f"{live.api.base}/dashboard/repos/{REPO}")
    expect(page.locator("ul.remotes li", has_text="daves")).to_contain_text("last fetched")
    remotes = {r["name"]: r["url"] for r in live.api.ok("GET", f"/api/v1/repos/{REPO}/remotes")["remotes"]}
    assert remotes["daves"] == live.setup.fake.url_of(live.setup.fake.repos["dave/w"])
    shot(page, "fork-picker-added")
    page.context.close()
