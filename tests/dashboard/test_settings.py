"""A repo's sync rules and notification settings on its page (Flask's test client): added, edited
and deleted as the API does it; bad input a notice that says why, nothing changed; admin only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.settings import load_settings
from service.web import create_app
from tests.dashboard.conftest import sign_in
from tests.support.live import ADMIN

REPO = "acme/widgets"
PAGE = f"/dashboard/repos/{REPO}"
SECRET = "notify-SECRET-0123456789"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    """Local remotes off (the notify URL's SSRF rules apply) and a key to seal secrets with; one
    repo with a second remote."""
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ADMIN_TOKEN": ADMIN,
                              "GITFERRY_FETCH_INTERVAL": "0",
                              "GITFERRY_SECRET_KEY": "a-secret-key-of-some-length-0123"})
    app = create_app(settings)
    store = app.extensions["gitferry"].store
    repo = store.repos.create(REPO, "https://github.com/acme/widgets.git", pull_strategy=None, fetch_interval=None,
                              protected_branches=[])
    store.repos.add_remote(repo.id, "upstream", "https://github.com/upstream/widgets.git")
    yield app
    store.close()


def store(app: Any) -> Any:
    return app.extensions["gitferry"].store


def rules(app: Any) -> list[tuple[Any, ...]]:
    repo = store(app).repos.by_name(REPO)
    return [(r.name, r.remote, r.branch, r.local_branch, r.strategy, r.push_to, r.allow_force)
            for r in store(app).rules.of_repo(repo.id)]


def test_a_rule_is_added_edited_and_deleted_on_the_repo_page(app: Any, client: Any) -> None:
    csrf = sign_in(client)
    empty = client.get(PAGE).text
    assert "No sync rules." in empty and "+ Add a rule" in empty and 'value="">repo default (ff-or-merge)' in empty
    added = client.post(f"{PAGE}/rules", data={"csrf": csrf, "name": "follow", "remote": "upstream", "branch": "main",
                                               "local_branch": "", "strategy": "", "push_to": ""})
    assert added.status_code == 303
    assert rules(app) == [("follow", "upstream", "main", "main", None, None, False)]
    page = client.get(PAGE).text
    assert "Added the rule follow: when upstream/main moves, main follows." in page
    assert "when <bdi>upstream/main</bdi> moves, update <bdi>main</bdi>." in page
    assert 'data-confirm="Delete the rule follow?"' in page
    # the edit form comes filled in with the rule as it is
    assert '<input type="hidden" name="rule" value="follow">' in page and 'name="name" required value="follow"' in page

    edited = client.post(f"{PAGE}/rules/edit", data={
        "csrf": csrf, "rule": "follow", "name": "follow-upstream", "remote": "upstream", "branch": "release/2",
        "local_branch": "ours/release-2", "strategy": "rebase", "push_to": "origin", "allow_force": "yes"})
    assert edited.status_code == 303
    assert rules(app) == [("follow-upstream", "upstream", "release/2", "ours/release-2", "rebase", "origin", True)]
    page = client.get(PAGE).text
    assert "Changed the rule follow-upstream" in page
    assert ("when <bdi>upstream/release/2</bdi> moves, update <bdi>ours/release-2</bdi> (rebase) and push it to "
            "origin, force allowed.") in page
    back = client.post(f"{PAGE}/rules/edit", data={
        "csrf": csrf, "rule": "follow-upstream", "name": "follow-upstream", "remote": "upstream",
        "branch": "release/2", "local_branch": "", "strategy": "", "push_to": ""})
    assert back.status_code == 303  # empty: the same name, the repo's default, nowhere, no force
    assert rules(app) == [("follow-upstream", "upstream", "release/2", "release/2", None, None, False)]

    deleted = client.post(f"{PAGE}/rules/delete", data={"csrf": csrf, "rule": "follow-upstream"})
    assert deleted.status_code == 303 and rules(app) == []
    assert "Deleted the rule follow-upstream." in client.get(PAGE).text


def test_a_bad_rule_is_a_notice_that_says_why_and_changes_nothing(app: Any, client: Any) -> None:
    csrf = sign_in(client)
    good = {"csrf": csrf, "name": "follow", "remote": "upstream", "branch": "main"}
    assert client.post(f"{PAGE}/rules", data=good).status_code == 303
    before = rules(app)
    for path, data, status, words in [
        ("rules", {**good, "name": "other", "branch": "a..b"}, 422, "invalid"),
        ("rules", {**good, "name": "with space"}, 422, "invalid"),
        ("rules", {**good, "name": "other", "remote": "nope"}, 404, "no remote named &#39;nope&#39;"),
        ("rules", {**good, "name": "other", "push_to": "nope"}, 404, "no remote named &#39;nope&#39;"),
        ("rules", {**good, "name": "other", "local_branch": "origin/x"}, 422, "would hide remote"),
        ("rules", {**good, "name": "other", "strategy": "yolo"}, 422, "strategy must be"),
        ("rules", good, 409, "a rule named &#39;follow&#39; exists already"),
        ("rules/edit", {**good, "rule": "nope"}, 404, "no rule named &#39;nope&#39;"),
        ("rules/edit", {**good, "rule": "follow", "branch": "-x"}, 422, "invalid"),
        ("rules/delete", {"csrf": csrf, "rule": "nope"}, 404, "no rule named &#39;nope&#39;"),
    ]:
        answer = client.post(f"{PAGE}/{path}", data=data)
        assert answer.status_code == status, (path, data, answer.status_code)
        assert words in answer.text and "Traceback" not in answer.text, (path, data, answer.text[:3000])
        assert '<p class="notice failed" role="alert">' in answer.text  # on the repo's page, not an error page
    assert rules(app) == before
    taken = client.post(f"{PAGE}/rules", data={**good, "name": "second"})
    assert taken.status_code == 303
    renamed = client.post(f"{PAGE}/rules/edit", data={**good, "rule": "second", "name": "follow"})
    assert renamed.status_code == 409 and "exists already" in renamed.text
    assert sorted(r[0] for r in rules(app)) == ["follow", "second"]


def notify(app: Any) -> tuple[Any, Any]:
    repo = store(app).repos.by_name(REPO)
    return repo.notify_url, repo.notify_secret and store(app).repos.notify_secret(repo)


def test_notification_settings_are_set_replaced_and_cleared_and_the_secret_never_shown(
        app: Any, client: Any) -> None:
    csrf = sign_in(client)
    page = client.get(PAGE).text
    assert 'id="notify-url"><span class="muted">none' in page and 'id="notify-secret"><span class="muted">none' in page
    url = "https://hooks.example.com/gitferry?team=a&b"
    assert client.post(f"{PAGE}/notifications", data={"csrf": csrf, "notify_url": url,
                                                      "notify_secret": SECRET}).status_code == 303
    assert notify(app) == (url, SECRET)
    page = client.get(PAGE).text
    assert "Changed the notify URL and the secret of acme/widgets." in page
    assert "https://hooks.example.com/gitferry?team=a&amp;b" in page and "a secret is set" in page
    assert SECRET not in page
    # the secret replaced alone: the URL stays
    assert client.post(f"{PAGE}/notifications", data={"csrf": csrf, "notify_url": "",
                                                      "notify_secret": "another-secret"}).status_code == 303
    assert notify(app) == (url, "another-secret")
    assert "another-secret" not in client.get(PAGE).text
    assert client.post(f"{PAGE}/notifications/clear", data={"csrf": csrf, "what": "secret"}).status_code == 303
    assert notify(app) == (url, None)
    assert client.post(f"{PAGE}/notifications", data={"csrf": csrf, "notify_secret": SECRET}).status_code == 303
    assert client.post(f"{PAGE}/notifications/clear", data={"csrf": csrf, "what": "all"}).status_code == 303
    assert notify(app) == (None, None)
    assert "acme/widgets sends no notifications now." in client.get(PAGE).text


@pytest.mark.parametrize("bad, words", [
    ("javascript:alert(1)", "must be an https:// URL"), ("ftp://hooks.example.com/x", "must be an https:// URL"),
    ("http://hooks.example.com/x", "must be an https:// URL"), ("https://127.0.0.1/x", "local or private"),
    ("https://169.254.169.254/latest", "local or private"), ("https://10.0.0.1/x", "local or private"),
    ("https://user:pw@hooks.example.com/x", "must not carry credentials"), ("https://[::1", "not a valid URL"),
    ("https://localhost/x", "local or private"), ("https://2130706433/x", "local or private")])
def test_a_bad_notify_url_is_a_notice_and_changes_nothing(app: Any, client: Any, bad: str, words: str) -> None:
    csrf = sign_in(client)
    client.post(f"{PAGE}/notifications", data={"csrf": csrf, "notify_url": "https://hooks.example.com/ok"})
    answer = client.post(f"{PAGE}/notifications", data={"csrf": csrf, "notify_url": bad, "notify_secret": SECRET})
    assert answer.status_code == 422 and words in answer.text and "Traceback" not in answer.text
    assert SECRET not in answer.text and "pw@" not in answer.text
    assert notify(app) == ("https://hooks.example.com/ok", None)
    nothing = client.post(f"{PAGE}/notifications", data={"csrf": csrf, "notify_url": " ", "notify_secret": ""})
    assert nothing.status_code == 422 and "give a notify URL or a secret" in nothing.text


@pytest.mark.parametrize("scope", ["read", "write"])
def test_only_an_admin_changes_rules_and_notifications(app: Any, client: Any, scope: str) -> None:
    admin = app.test_client()
    admin_csrf = sign_in(admin)
    admin.post(f"{PAGE}/rules", data={"csrf": admin_csrf, "name": "follow", "remote": "upstream", "branch": "main"})
    admin.post(f"{PAGE}/notifications", data={"csrf": admin_csrf, "notify_url": "https://hooks.example.com/s3cret-path",
                                              "notify_secret": SECRET})
    before = (rules(app), notify(app))
    csrf = sign_in(client, store(app).tokens.create(f"a-{scope}", scope))
    page = client.get(PAGE).text
    assert "Rules are changed with an admin token: this needs an admin token." in page
    assert 'Add rule</button>' in page and page.count('disabled title="needs an admin token"') >= 6
    assert "s3cret-path" not in page and "set (shown to admins only)" in page and "a secret is set" in page
    for path, data in [("rules", {"name": "mine", "remote": "upstream", "branch": "dev"}),
                       ("rules/edit", {"rule": "follow", "name": "follow", "remote": "upstream", "branch": "dev"}),
                       ("rules/delete", {"rule": "follow"}),
                       ("notifications", {"notify_url": "https://evil.example.com/x"}),
                       ("notifications/clear", {"what": "all"})]:
        refused = client.post(f"{PAGE}/{path}", data={"csrf": csrf, **data})
        assert refused.status_code == 403 and "needs an admin token" in refused.text, path
    assert (rules(app), notify(app)) == before


def test_a_rule_whose_remote_was_removed_says_so_in_its_edit_form(app: Any, client: Any) -> None:
    csrf = sign_in(client)
    client.post(f"{PAGE}/rules", data={"csrf": csrf, "name": "follow", "remote": "upstream", "branch": "main",
                                       "push_to": "upstream"})
    repo = store(app).repos.by_name(REPO)
    store(app).repos.remove_remote(repo.id, "upstream")
    page = client.get(PAGE).text
    assert page.count('<option value="upstream" selected>upstream (removed)</option>') == 2  # remote, push to
    kept = client.post(f"{PAGE}/rules/edit", data={"csrf": csrf, "rule": "follow", "name": "follow",
                                                   "remote": "upstream", "branch": "dev", "push_to": "upstream"})
    assert kept.status_code == 404 and "no remote named &#39;upstream&#39;" in kept.text
    assert rules(app) == [("follow", "upstream", "main", "main", None, "upstream", False)]
