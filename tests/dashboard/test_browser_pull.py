"""Pull with each strategy from the repo page's dropdown, and its dry run, in real headless Chromium
against a live `gitferry serve`; plain git on the server's clone is the oracle. Screenshots under
test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.dashboard.test_browser import branch_row, browser, shot, signed_in
from tests.support.history import clone_of
from tests.support.live import Processes
from tests.support.repos import branch_sha, git

__all__ = ["browser"]  # the module's browser, shared


def tip(clone: Path, branch: str) -> str:
    sha = branch_sha(clone, branch)
    assert sha is not None, branch
    return sha


def parents(clone: Path, rev: str) -> list[str]:
    return git(clone, "rev-list", "--parents", "-n", "1", rev).split()[1:]


def diverged_branches(live: Processes, forge: Any, repo_name: str, *names: str) -> tuple[Path, str, str]:
    """Local branches each with a commit of their own (the forge's `side`) and tracking origin/main,
    which has moved on by a commit: each is 1 ahead and 1 behind. (the clone, side's tip, main's tip)"""
    side = forge.commit("side.txt", "mine\n", "mine, on the side", branch="side")
    live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    live.api.wait_repo(repo_name)
    for name in names:
        live.api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": name, "start_point": "origin/side",
                                                                     "track": False})
        live.api.ok("PUT", f"/api/v1/repos/{repo_name}/branches/{name}/upstream",
                    {"remote": "origin", "branch": "main"})
    live.api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "behind", "start_point": "origin/main"})
    upstream = forge.commit("news.txt", "news\n", "news on the forge")
    live.api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    return clone_of(live.data_dir, forge.url), side, upstream


def pull(page: Page, branch: str, strategy: str, button: str = "#pull") -> Any:
    """Pull `branch` with `strategy` from the toolbar; the card of the job it started, once it ended."""
    page.select_option("#pull-branch", branch)
    page.select_option("#pull-strategy", strategy)
    before = page.url
    page.click(button)
    expect(page).not_to_have_url(before)  # the repo's page showing the job just started (?job=<id>)
    card = page.locator("#job-shown")
    expect(card.locator(".badge")).to_have_text("done")  # the page follows the job to its end
    return card


def test_pull_with_each_strategy_from_the_dropdown(browser: Browser, live: Processes, forge: Any,
                                                   repo_name: str) -> None:
    clone, side, upstream = diverged_branches(live, forge, repo_name, "try-ff", "try-merge", "try-rebase")
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/repos/{repo_name}")
    expect(branch_row(page, "try-ff").locator(".behind")).to_have_text("↓ 1")
    expect(branch_row(page, "try-ff").locator(".ahead")).to_have_text("↑ 1")

    # ff-only on a diverged branch is refused; the page says why, and nothing changed.
    card = pull(page, "try-ff", "ff-only")
    expect(card).to_contain_text("refused: it has diverged from its upstream and ff-only does not merge or rebase; "
                                 "nothing changed")
    shot(page, "pull-ff-only-refused")
    assert branch_sha(clone, "try-ff") == side

    # ff-or-merge makes a merge commit of the branch and its upstream.
    card = pull(page, "try-merge", "ff-or-merge")
    expect(card).to_contain_text("merged (a merge commit)")
    merged = tip(clone, "try-merge")
    assert parents(clone, merged) == [side, upstream]
    expect(card).to_contain_text(merged[:10])
    expect(branch_row(page, "try-merge").locator(".behind")).to_have_text("↓ 0")
    expect(branch_row(page, "try-merge").locator(".ahead")).to_have_text("↑ 2")
    shot(page, "pull-merged")

    # rebase puts the branch's own commit on top of its upstream.
    card = pull(page, "try-rebase", "rebase")
    expect(card).to_contain_text("rebased onto its upstream")
    rebased = tip(clone, "try-rebase")
    assert parents(clone, rebased) == [upstream]
    assert git(clone, "log", "-1", "--format=%s", rebased) == "mine, on the side"
    expect(branch_row(page, "try-rebase").locator(".ahead")).to_have_text("↑ 1")
    expect(branch_row(page, "try-rebase").locator(".behind")).to_have_text("↓ 0")
    shot(page, "pull-rebased")

    # A branch only behind is fast-forwarded.
    card = pull(page, "behind", "ff-only")
    expect(card).to_contain_text("fast-forwarded")
    assert branch_sha(clone, "behind") == upstream
    expect(branch_row(page, "behind").locator(".behind")).to_have_text("↓ 0")
    shot(page, "pull-fast-forwarded")
    page.context.close()


def test_a_dry_run_says_what_a_pull_would_do_and_changes_nothing(browser: Browser, live: Processes, forge: Any,
                                                                 repo_name: str) -> None:
    clone, side, upstream = diverged_branches(live, forge, repo_name, "try-dry")
    refs_before = git(clone, "for-each-ref", "--format=%(refname) %(objectname)")
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/repos/{repo_name}")

    card = pull(page, "try-dry", "ff-or-merge", "#pull-dry-run")
    expect(card.locator("h2")).to_contain_text("Dry run of a pull of try-dry")
    expect(card).to_contain_text("Dry run, nothing changed: pulling try-dry with ff-or-merge would make a "
                                 "merge commit.")
    expect(card).to_contain_text("1 commit would arrive:")
    expect(card.locator("ul.commits li")).to_have_text(f"{upstream[:10]} news on the forge")
    shot(page, "pull-dry-run")
    card = pull(page, "try-dry", "ff-only", "#pull-dry-run")
    expect(card).to_contain_text("would be refused: it has diverged from its upstream")
    assert branch_sha(clone, "try-dry") == side
    assert git(clone, "for-each-ref", "--format=%(refname) %(objectname)") == refs_before
    expect(branch_row(page, "try-dry").locator(".ahead")).to_have_text("↑ 1")
    page.context.close()
