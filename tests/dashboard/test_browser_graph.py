"""The repo page's commit graph in real headless Chromium against a live `gitferry serve`: a second remote
on a Gitea forge shows Gitea's icon on its branch labels, a merge draws its lines, a commit on no remote is
marked and so is one behind upstream, and at a phone's width the graph pans. Screenshots under test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from service.store.forges import FRESH_FOR
from tests.conftest import Forge
from tests.dashboard.test_browser import ARTIFACTS, browser, shot, signed_in
from tests.support.git_http import GitHttpServer
from tests.support.history import clone_of, git_commit_in
from tests.support.live import Processes
from tests.support.repos import git

__all__ = ["browser"]  # the module's browser, shared


def test_the_commit_graph_shows_provider_icons_on_remote_branch_labels(
        browser: Browser, live: Processes, forge: Forge, repo_name: str, tmp_path: Path) -> None:
    api = live.api
    # origin: main with a side branch merged into it (--no-ff: a merge commit with two parents)
    forge.commit("side.txt", "1\n", "work on side", branch="side")
    git(forge.work, "checkout", "-q", "main")
    git(forge.work, "merge", "-q", "--no-ff", "-m", "merge side into main", "side")
    git(forge.work, "push", "-q", "origin", "main")
    fork = Forge(tmp_path / "served" / "mallory", name="widgets")  # the second remote, on a Gitea forge
    fork.commit("README", "fork\n", "the fork's own start")
    fork.commit("feature.txt", "1\n", "feature on the fork", branch="feature")
    with GitHttpServer(tmp_path / "served") as served:
        added = api.ok("POST", "/api/v1/forges", {"kind": "gitea", "host": served.netloc,
                                                  "api_url": f"http://{served.netloc}"}, status=201)
        try:
            api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
            api.wait_repo(repo_name)
            remote = api.ok("POST", f"/api/v1/repos/{repo_name}/remotes?wait=30",
                            {"name": "mallory", "url": served.url("mallory/widgets.git")}, status=201)
            assert remote["job"]["state"] == "done", remote
            mine = git_commit_in(clone_of(live.data_dir, forge.url), "main", "mine, on no remote yet")
            forge.commit("news.txt", "news\n", "news on the forge")  # main is behind origin/main by it
            api.run(f"/api/v1/repos/{repo_name}/fetch", {})  # a job records the refs as they are now
            see_the_graph(browser, live, repo_name, mine)
        finally:
            api.ok("DELETE", f"/api/v1/forges/{added['host']}", status=204)


def see_the_graph(browser: Browser, live: Processes, repo_name: str, mine: str) -> None:
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/repos/{repo_name}")
    graph = page.locator("#graph")
    label = graph.locator(".ref-label.remote", has_text="mallory/feature")
    # each web process reads the forges again once its copy is FRESH_FOR seconds old
    deadline = time.monotonic() + FRESH_FOR + 5
    while "gitea.svg" not in (label.locator("img.icon").get_attribute("src") or "") and time.monotonic() < deadline:
        page.reload()
    expect(label.locator("img.icon")).to_have_attribute("alt", "Gitea")
    expect(graph.locator(".ref-label.remote", has_text="origin/main").locator("img.icon")).to_have_attribute(
        "alt", "Other host")
    expect(graph.locator(".ref-label.branch", has_text="main")).to_have_count(1)
    expect(graph.locator(f'li[data-sha="{mine}"] .mark.local-only')).to_have_text("local only")
    expect(graph.locator("svg.graph-lines circle.dot.local-only")).to_have_count(1)
    expect(graph.locator("li", has_text="news on the forge").locator(".mark.behind")).to_have_text("behind")
    expect(graph.locator("svg.graph-lines path.dot.behind")).to_have_count(1)
    merge = graph.locator("li", has_text="merge side into main")
    expect(merge).to_have_count(1)
    expect(graph.locator('svg.graph-lines path.line[d*="C"]')).not_to_have_count(0)  # a merge's lines bend across
    expect(graph.locator(".graph-legend")).to_contain_text("local only: on no remote yet")
    shot(page, "graph-desktop")
    graph.screenshot(path=str(ARTIFACTS / "graph-desktop-close.png"))

    # More on scroll: shown two at a time, the bottom of the graph coming into view asks for more by itself.
    rows = graph.locator(".graph-rows li")
    expect(rows).to_have_count(7)
    page.evaluate("url => htmx.ajax('GET', url, {target: '#graph', swap: 'outerHTML'})",
                  f"/dashboard/graph/{repo_name}?limit=2")
    expect(rows).to_have_count(2)
    page.mouse.wheel(0, 4000)  # nothing clicked
    expect(rows).to_have_count(7)
    expect(graph).to_contain_text("7 commits.")
    page.context.close()

    phone = signed_in(browser, live, width=390)
    phone.goto(f"{live.api.base}/dashboard/repos/{repo_name}")
    scroller = phone.locator("#graph .graph-scroll")
    expect(scroller.locator("li", has_text="feature on the fork")).to_have_count(1)
    scroller.scroll_into_view_if_needed()
    assert scroller.evaluate("box => box.scrollWidth > box.clientWidth")  # wider than the phone: it pans
    scroller.evaluate("box => { box.scrollLeft = 120; }")
    assert scroller.evaluate("box => box.scrollLeft") == 120
    shot(phone, "graph-phone")
    # the graph's box keeps to the phone's width: the commits pan inside it, not the page
    assert phone.locator("#graph").evaluate("box => box.getBoundingClientRect().right <= window.innerWidth")
    phone.context.close()
