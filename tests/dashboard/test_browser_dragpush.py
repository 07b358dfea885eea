"""Drag-and-drop push, its keyboard way, and push dry runs in real headless Chromium against a live
`gitferry serve`; plain git on the forge is the oracle. Screenshots under test-artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.dashboard.test_browser import branch_row, browser, shot, signed_in
from tests.dashboard.test_dragpush import TopicAhead, push_jobs, topic_ahead_of_other, upstream_of
from tests.support.live import Processes
from tests.support.repos import git

__all__ = ["browser"]  # the module's browser, shared


def ls_remote(ahead: TopicAhead, branch: str) -> str:
    """What plain git says the forge's branch is at."""
    return git(ahead.forge.bare, "ls-remote", str(ahead.forge.bare), f"refs/heads/{branch}").split()[0]


def open_repo(browser: Browser, live: Processes, ahead: TopicAhead, token: str | None = None) -> Page:
    page = signed_in(browser, live, token) if token else signed_in(browser, live)
    page.goto(f"{live.api.base}/dashboard/repos/{ahead.name}")
    return page


def pushed_and_ended(live: Processes, ahead: TopicAhead, count: int) -> dict[str, Any]:
    """The newest push job, once there are `count` and it ended."""
    jobs = push_jobs(live.api, ahead.name)
    assert len(jobs) == count, jobs
    return live.api.wait_job(int(jobs[0]["id"]))  # type: ignore[call-overload]


def tab_to(page: Page, element: Any, presses: int = 40) -> None:
    """Press Tab until `element` has the focus (and fail if it never gets it)."""
    for _ in range(presses):
        if element.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(element).to_be_focused()


def test_drag_a_branch_onto_a_remote_branch_then_confirm_pushes_it_there(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    ahead = topic_ahead_of_other(live.api, live.data_dir, forge, repo_name)
    page = open_repo(browser, live, ahead)
    dialog = page.locator("dialog#dragpush")
    branch_row(page, "topic").drag_to(page.locator('li[data-push-to="origin/other"]'))
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Push topic to origin/other? Upstream is not changed.")
    expect(dialog.locator(".push-preview")).to_contain_text("would fast-forward it")
    expect(dialog.locator("ol.arriving li")).to_have_count(1)
    expect(dialog.locator("ol.arriving")).to_contain_text(ahead.topic[:10])
    expect(dialog.locator("#dragpush-cancel")).to_be_focused()  # the safe choice first
    shot(page, "dragpush-confirm")
    assert ls_remote(ahead, "other") == ahead.other and len(push_jobs(live.api, ahead.name)) == 1  # a dry run

    # a job that ends meanwhile shows in the live jobs table; the page is not reloaded under the question
    fetched = live.api.run(f"/api/v1/repos/{ahead.name}/fetch", {})
    expect(page.locator(f'#jobs tr[data-job="{fetched["id"]}"]')).to_contain_text("nothing new")
    expect(dialog).to_be_visible()
    dialog.locator("#dragpush-push").click()
    expect(page.locator(".notice.ok")).to_contain_text("Pushing topic to origin/other (job ")
    job = pushed_and_ended(live, ahead, 2)
    assert job["result"]["outcome"] == "pushed" and not job["params"]["set_upstream"]
    assert ls_remote(ahead, "other") == ahead.topic
    assert upstream_of(live.api, ahead.name, "topic") == "origin/main"  # the upstream is unchanged
    expect(page.locator('li[data-push-to="origin/other"] code.sha')).to_have_text(ahead.topic[:10])
    shot(page, "dragpush-pushed")
    page.context.close()


def test_the_keyboard_way_pushes_the_same_and_cancel_changes_nothing(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    ahead = topic_ahead_of_other(live.api, live.data_dir, forge, repo_name)
    page = open_repo(browser, live, ahead)
    dialog = page.locator("dialog#dragpush")
    menu = branch_row(page, "topic").locator("details.menu").first
    tab_to(page, menu.locator("summary"))  # from the top of the page, as a person would
    page.keyboard.press("Enter")  # opens the branch's Push… menu
    field = menu.locator("input[name=to]")
    tab_to(page, field)  # past Push topic and Dry run
    shot(page, "dragpush-keyboard-menu")
    expect(page.locator(f'label[for="{field.get_attribute("id")}"]')).to_have_text("To another remote branch")
    page.keyboard.type("origin/other")
    page.keyboard.press("Enter")  # submits: the confirmation opens, as a drop opens it
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Push topic to origin/other? Upstream is not changed.")
    expect(dialog.locator(".push-preview")).to_contain_text("would fast-forward it")
    page.keyboard.press("Enter")  # on Cancel, which has the focus
    expect(dialog).to_be_hidden()
    assert ls_remote(ahead, "other") == ahead.other and len(push_jobs(live.api, ahead.name)) == 1  # the dry run

    expect(field).to_be_focused()  # back where it was before the dialog
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".push-preview")).to_contain_text("would fast-forward it")
    page.keyboard.press("Shift+Tab")  # from Cancel back to Push
    expect(dialog.locator("#dragpush-push")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".notice.ok")).to_contain_text("Pushing topic to origin/other")
    job = pushed_and_ended(live, ahead, 3)
    assert job["result"]["outcome"] == "pushed" and ls_remote(ahead, "other") == ahead.topic
    assert upstream_of(live.api, ahead.name, "topic") == "origin/main"
    page.context.close()


def test_a_dropped_push_that_is_rejected_shows_it_first_and_then_offers_the_force(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    ahead = topic_ahead_of_other(live.api, live.data_dir, forge, repo_name)
    theirs = forge.commit("theirs.txt", "theirs\n", "only on other", branch="other")
    live.api.run(f"/api/v1/repos/{ahead.name}/fetch", {})
    page = open_repo(browser, live, ahead)
    dialog = page.locator("dialog#dragpush")
    branch_row(page, "topic").drag_to(page.locator('li[data-push-to="origin/other"]'))
    expect(dialog.locator(".push-preview")).to_contain_text("would be rejected")
    expect(dialog.locator("ol.discarded li")).to_have_count(1)
    expect(dialog.locator("ol.discarded")).to_contain_text("only on other")
    shot(page, "dragpush-would-be-rejected")
    dialog.locator("#dragpush-push").click()  # pushed anyway: rejected, into the force push's card
    rejected = page.locator(".push-shown.rejected")
    expect(rejected).to_contain_text("Push of topic to origin/other was rejected")
    expect(rejected.locator("ol.discarded li")).to_have_count(1)
    assert ls_remote(ahead, "other") == theirs
    page.context.close()


def test_a_read_token_cannot_drag_or_push(browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    ahead = topic_ahead_of_other(live.api, live.data_dir, forge, repo_name)
    reader = live.api.ok("POST", "/api/v1/tokens", {"name": f"reader-{repo_name.rsplit('-', 1)[1]}",
                                                     "scope": "read"}, status=201)["token"]
    page = open_repo(browser, live, ahead, reader)
    expect(branch_row(page, "topic")).not_to_have_attribute("draggable", "true")
    branch_row(page, "topic").drag_to(page.locator('li[data-push-to="origin/other"]'))
    expect(page.locator("dialog#dragpush")).to_be_hidden()
    branch_row(page, "topic").locator("summary:text('Push…')").click()
    expect(branch_row(page, "topic").locator("button.review-push")).to_be_disabled()
    expect(branch_row(page, "topic").locator("button.dry-run")).to_be_disabled()
    assert ls_remote(ahead, "other") == ahead.other and push_jobs(live.api, ahead.name) == []
    page.context.close()


def test_a_dry_run_shows_the_arriving_commits_and_the_remote_does_not_move(
        browser: Browser, live: Processes, forge: Any, repo_name: str) -> None:
    ahead = topic_ahead_of_other(live.api, live.data_dir, forge, repo_name)
    live.api.ok("POST", f"/api/v1/repos/{ahead.name}/branches", {"name": "lone", "start_point": "topic",
                                                                  "track": False}, status=201)
    page = open_repo(browser, live, ahead)
    row = branch_row(page, "lone")
    row.locator("summary:text('Push…')").click()
    row.locator("input[name=remote_branch]").fill("other")
    row.locator("button.dry-run").click()
    expect(page.locator(".notice.ok")).to_contain_text("Dry run of pushing lone: nothing is pushed")
    card = page.locator("section.dry-run")
    expect(card.locator(".push-preview")).to_contain_text("would fast-forward it")  # once the job ended
    expect(card.locator("ol.arriving li")).to_have_count(1)
    expect(card.locator("ol.arriving")).to_contain_text("topic work <b>bold</b>")  # text, not markup
    expect(card.locator("button.primary")).to_have_text("Push lone to origin/other and track it")  # as the form asked
    shot(page, "dry-run-card")
    assert ls_remote(ahead, "other") == ahead.other
    assert pushed_and_ended(live, ahead, 1)["result"]["dry_run"] is True
    page.context.close()
