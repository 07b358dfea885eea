"""Sync rules and notification settings on the repo page, in real headless Chromium against a live
`gitferry serve`: a rule added, edited (and then acting as edited on a fetch), deleted; a notify URL
and secret set. Screenshots under test-artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Dialog, Page, expect

from tests.dashboard.test_browser import branch_row, browser, shot, signed_in
from tests.support.live import Api, Processes
from tests.support.repos import branch_sha

__all__ = ["browser"]  # the module's browser, shared


def synced(api: Api, repo_name: str, after: int) -> None:
    """Wait for the sync jobs queued after job `after` (a fetch sets them off before it ends)."""
    jobs = api.ok("GET", f"/api/v1/jobs?repo={repo_name}")["jobs"]
    fetches = [j for j in jobs if j["kind"] == "fetch" and j["id"] > after]
    assert fetches and all(api.wait_job(j["id"])["state"] == "done" for j in fetches), fetches
    jobs = api.ok("GET", f"/api/v1/jobs?repo={repo_name}&kind=sync")["jobs"]
    syncs = [j for j in jobs if j["id"] > after]
    assert syncs and all(api.wait_job(j["id"])["state"] == "done" for j in syncs), syncs


def rule_item(page: Page, name: str) -> Any:
    return page.locator(f'ul.rules li[data-rule="{name}"]')


def test_an_admin_adds_edits_and_deletes_a_rule_and_sets_notifications(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    api = live.api
    forge.commit("dev.txt", "dev\n", "start dev", branch="dev")
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    api.wait_repo(repo_name)
    page = signed_in(browser, live)
    page.goto(f"{api.base}/dashboard/repos/{repo_name}")
    expect(page.locator("#rules-h ~ p.muted").first).to_have_text("No sync rules.")

    # Add: main into a local copy, fast-forward only.
    page.click("summary:text('+ Add a rule')")
    form = page.locator("#add-rule")
    form.locator("input[name=name]").fill("follow")
    form.locator("select[name=remote]").select_option("origin")
    form.locator("input[name=branch]").fill("main")
    form.locator("input[name=local_branch]").fill("copy")
    form.locator("select[name=strategy]").select_option("ff-only")
    shot(page, "rule-add-form")
    form.locator("button:text('Add rule')").click()
    expect(page.locator(".notice.ok")).to_have_text("Added the rule follow: when origin/main moves, copy follows.")
    expect(rule_item(page, "follow")).to_contain_text("when origin/main moves, update copy (ff-only).")

    # Edit: the form comes filled in; watch dev into dev-copy, the repo's default strategy, force allowed.
    rule_item(page, "follow").locator("summary:text('Edit…')").click()
    edit = rule_item(page, "follow").locator("form.rule-form")
    expect(edit.locator("input[name=branch]")).to_have_value("main")
    expect(edit.locator("select[name=strategy]")).to_have_value("ff-only")
    edit.locator("input[name=branch]").fill("dev")
    edit.locator("input[name=local_branch]").fill("dev-copy")
    edit.locator("select[name=strategy]").select_option("")
    edit.locator("input[name=allow_force]").check()
    shot(page, "rule-edit-form")
    edit.locator("button:text('Save rule')").click()
    expect(page.locator(".notice.ok")).to_have_text("Changed the rule follow: when origin/dev moves, dev-copy follows.")
    expect(rule_item(page, "follow")).to_contain_text("when origin/dev moves, update dev-copy, force allowed.")
    assert api.ok("GET", f"/api/v1/repos/{repo_name}/rules")["rules"] == [
        {"name": "follow", "remote": "origin", "branch": "dev", "local_branch": "dev-copy", "strategy": None,
         "push_to": None, "allow_force": True}]

    # The edited rule acts: the forge's dev moves, a fetch from the page brings dev-copy to it.
    last = api.ok("GET", f"/api/v1/jobs?repo={repo_name}&limit=1")["jobs"][0]["id"]
    dev_tip = forge.commit("dev.txt", "dev moves\n", "dev moves", branch="dev")
    with page.expect_navigation():  # the fetch is queued once the form's answer is back
        page.click("#fetch")
    synced(api, repo_name, last)
    # the page reloads itself as the jobs end (dashboard.js), then shows the branch the rule made
    expect(branch_row(page, "dev-copy")).to_be_visible()
    expect(page.locator("#jobs tr.state-queued, #jobs tr.state-running")).to_have_count(0)
    assert {b["name"]: b["sha"] for b in api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["branches"]}[
        "dev-copy"] == dev_tip == branch_sha(forge.bare, "dev")
    shot(page, "rule-edited-acted")

    read_only_sees_the_rule_but_cannot_change_it(browser, live, repo_name)
    delete_the_rule(page)
    set_the_notifications(page, api, repo_name)
    page.context.close()


def read_only_sees_the_rule_but_cannot_change_it(browser: Browser, live: Processes, repo_name: str) -> None:
    reader = live.api.ok("POST", "/api/v1/tokens", {"name": f"reader-{repo_name.replace('/', '-')}",
                                                     "scope": "read"}, status=201)["token"]
    page = signed_in(browser, live, reader)
    page.goto(f"{live.api.base}/dashboard/repos/{repo_name}")
    expect(rule_item(page, "follow")).to_contain_text("when origin/dev moves, update dev-copy, force allowed.")
    expect(page.locator(".off-reason")).to_have_text(
        "Rules are changed with an admin token: this needs an admin token.")
    rule_item(page, "follow").locator("summary:text('Edit…')").click()
    expect(rule_item(page, "follow").locator("button:text('Save rule')")).to_be_disabled()
    delete = rule_item(page, "follow").locator("button:text('Delete')")
    expect(delete).to_have_attribute("title", "needs an admin token")
    expect(page.locator("button:text('Add rule')")).to_be_disabled()
    shot(page, "rules-read-only")
    page.context.close()


def delete_the_rule(page: Page) -> None:
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    rule_item(page, "follow").locator("button:text('Delete')").click()
    expect(page.locator(".notice.ok")).to_have_text("Deleted the rule follow.")
    assert asked == ["Delete the rule follow?"]
    expect(rule_item(page, "follow")).to_have_count(0)


def set_the_notifications(page: Page, api: Api, repo_name: str) -> None:
    expect(page.locator("#notify-url")).to_contain_text("none")
    page.click("summary:text('Change notifications…')")
    page.fill("#notify-url-input", "ftp://hooks.example.com/x")
    page.click("button:text('Save notifications')")
    expect(page.locator(".notice.failed")).to_contain_text("notify_url must be an")
    assert api.ok("GET", f"/api/v1/repos/{repo_name}")["notify_url"] is None

    page.click("summary:text('Change notifications…')")
    page.fill("#notify-url-input", "https://hooks.example.com/gitferry")
    page.fill("#notify-secret-input", "a-notify-secret-42")
    page.click("button:text('Save notifications')")
    expect(page.locator(".notice.ok")).to_have_text(f"Changed the notify URL and the secret of {repo_name}.")
    expect(page.locator("#notify-url")).to_have_text("https://hooks.example.com/gitferry")
    expect(page.locator("#notify-secret")).to_contain_text("a secret is set")
    assert "a-notify-secret-42" not in page.content()
    repo = api.ok("GET", f"/api/v1/repos/{repo_name}")
    assert (repo["notify_url"], repo["notify_secret_set"]) == ("https://hooks.example.com/gitferry", True)
    shot(page, "notifications-set")
