"""The commits behind the numbers and a force push with its confirmation, in real headless
Chromium against a live `gitferry serve`; screenshots under test-artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Dialog, expect

from tests.dashboard.test_browser import branch_row, browser, shot, signed_in
from tests.support.history import clone_of, git_commit_in, git_log
from tests.support.live import Processes
from tests.support.repos import branch_sha

__all__ = ["browser"]  # the module's browser, shared


def test_counts_open_to_their_commits_and_a_force_push_names_what_it_discards(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    live.api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    live.api.wait_repo(repo_name)
    clone = clone_of(live.data_dir, forge.url)
    mine = git_commit_in(clone, "main", "mine, <b>not</b> on the forge")
    for i in range(2):
        forge.commit(f"f{i}.txt", f"{i}\n", f"forge {i}")
    live.api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    theirs = git_log(clone, "origin/main", "^main")
    page = signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/repos/{repo_name}")

    # The counts open to the commits behind them.
    row = branch_row(page, "main")
    row.locator("details.compare-of summary").click()
    expect(row.locator(".ahead-commits li")).to_have_count(1)
    expect(row.locator(".ahead-commits")).to_contain_text("mine, <b>not</b> on the forge")
    expect(row.locator(".behind-commits li")).to_have_count(2)
    expect(row.locator(".behind-commits li").first).to_contain_text(theirs[0]["sha"][:10])
    shot(page, "compare-expanded")

    # A plain push is rejected; the page shows what a force would discard.
    row.locator("summary:text('Push…')").click()
    row.locator("button:text('Push main')").click()
    rejected = page.locator(".push-shown.rejected")
    expect(rejected.locator("ol.discarded li")).to_have_count(2)
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    shot(page, "push-rejected")
    rejected.locator("button:text('Force push')").click()
    expect(page.locator(".push-shown.forced")).to_contain_text("kept a backup")
    assert asked and "Force push main to origin/main? It discards 2 commits" in asked[0]
    assert all(f"{c['sha'][:10]} {c['subject']}" in asked[0] for c in theirs)
    assert branch_sha(forge.bare, "main") == mine
    expect(page.locator("table.backups tbody tr")).to_have_count(1)
    expect(page.locator("table.backups")).to_contain_text(str(theirs[0]["sha"])[:10])
    shot(page, "force-pushed-backup")
    page.context.close()
