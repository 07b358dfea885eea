"""The dashboard without a browser: sign-in, sessions, CSRF, scopes, headers, secrets, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.records import RemoteFetch
from service.domain.types import JobKind
from tests.dashboard.conftest import Markup, sign_in
from tests.support.live import ADMIN

PAGES = ["/dashboard/", "/dashboard/jobs", "/dashboard/jobs/table", "/dashboard/tokens", "/dashboard/forges",
         "/dashboard/deliveries"]


def services(app: Any) -> Any:
    return app.extensions["gitferry"]


def test_the_root_leads_to_the_dashboard_and_the_dashboard_to_the_sign_in(client: Any) -> None:
    assert client.get("/").headers["Location"] == "/dashboard/"
    answer = client.get("/dashboard/")
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard/sign-in"
    assert client.get("/dashboard/repos/a/b").headers["Location"] == "/dashboard/sign-in"
    htmx = client.get("/dashboard/jobs/table", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/dashboard/sign-in"


def test_a_token_is_exchanged_for_an_httponly_strict_expiring_cookie(client: Any) -> None:
    form = client.get("/dashboard/sign-in")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    signed = client.post("/dashboard/sign-in", data={"csrf": csrf, "token": ADMIN})
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith("gitferry_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http here
    assert ADMIN not in cookie  # the cookie keeps the token's hash, not the token
    page = client.get("/dashboard/")
    assert page.status_code == 200 and "admin token" in page.text


def test_the_cookie_is_secure_behind_https(app: Any) -> None:
    services(app).settings = services(app).settings.__class__(**{**services(app).settings.__dict__, "proxy_hops": 1})
    client = app.test_client()
    form = client.get("/dashboard/sign-in")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    signed = client.post("/dashboard/sign-in", data={"csrf": csrf, "token": ADMIN},
                         headers={"X-Forwarded-Proto": "https"})
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith("gitferry_session="))
    assert "Secure" in cookie


def test_a_wrong_token_is_refused_and_signs_nobody_in(client: Any) -> None:
    form = client.get("/dashboard/sign-in")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    refused = client.post("/dashboard/sign-in", data={"csrf": csrf, "token": "gf_wrong"})
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    assert not any(c.startswith("gitferry_session=") for c in refused.headers.getlist("Set-Cookie"))
    assert client.get("/dashboard/").status_code == 303
    no_csrf = client.post("/dashboard/sign-in", data={"token": ADMIN})
    assert no_csrf.status_code == 403


def test_a_token_in_the_query_signs_nobody_in(client: Any) -> None:
    answer = client.get(f"/dashboard/sign-in?token={ADMIN}")  # a link anyone could send
    assert answer.status_code == 200 and "Sign in with one of gitferry's API tokens" in answer.text
    assert not any(c.startswith("gitferry_session=") for c in answer.headers.getlist("Set-Cookie"))
    assert client.get("/dashboard/").status_code == 303


def test_sign_out_ends_the_session(client: Any) -> None:
    csrf = sign_in(client)
    client.post("/dashboard/sign-out", data={"csrf": csrf})
    assert client.get("/dashboard/").status_code == 303


def test_a_revoked_token_ends_its_sessions(app: Any, client: Any) -> None:
    token = services(app).store.tokens.create("doomed", "write")
    sign_in(client, token)
    assert client.get("/dashboard/").status_code == 200
    services(app).store.tokens.delete("doomed")
    assert client.get("/dashboard/").status_code == 303


def test_a_change_without_its_csrf_token_is_refused_and_changes_nothing(app: Any, client: Any) -> None:
    csrf = sign_in(client)
    for given in ({}, {"csrf": "forged"}):
        refused = client.post("/dashboard/repos", data={**given, "name": "x/y", "url": "file:///tmp/x.git"})
        assert refused.status_code == 403 and "CSRF" in refused.text
    header = client.post("/dashboard/repos", data={"name": "x/y", "url": "file:///tmp/x.git"},
                         headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert header.status_code == 303  # htmx sends it as a header
    assert [r.name for r in services(app).store.repos.all()] == ["x/y"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_forbids_inline_script_and_has_none(client: Any, page: str) -> None:
    sign_in(client)
    answer = client.get(page)
    assert answer.status_code == 200
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["Cache-Control"] == "no-store"
    markup = Markup(answer.text)
    assert all(markup.scripts) and not markup.inline_script and not markup.handlers


def test_a_read_token_sees_every_page_but_its_buttons_are_off_with_the_reason(app: Any, client: Any) -> None:
    repo = services(app).store.repos.create("acme/widgets", "file:///tmp/w.git", pull_strategy=None,
                                            fetch_interval=None, protected_branches=[])
    csrf = sign_in(client, services(app).store.tokens.create("reader", "read"))
    overview = client.get("/dashboard/").text
    assert 'disabled title="needs a write or admin token"' in overview
    page = client.get("/dashboard/repos/acme/widgets").text
    assert "Buttons are off: this needs a write or admin token." in page
    assert 'id="fetch" disabled' in page and 'id="pull" disabled' in page
    for path, data in [("/dashboard/fetch", {"repo": "acme/widgets"}),
                       ("/dashboard/repos/acme/widgets/pull", {"branch": "main"}),
                       ("/dashboard/repos/acme/widgets/remotes", {"name": "fork", "url": "file:///tmp/f.git"})]:
        refused = client.post(path, data={"csrf": csrf, **data})
        assert refused.status_code == 403 and "needs a" in refused.text
    assert services(app).store.jobs.latest(repo=repo.name) == []
    assert [r.name for r in services(app).store.repos.remotes(repo.id)] == ["origin"]
    assert client.get("/dashboard/tokens").status_code == 403


def test_bad_input_is_a_4xx_page_that_says_why_and_changes_nothing(app: Any, client: Any) -> None:
    csrf = sign_in(client)
    cases = [("/dashboard/repos", {"name": "no spaces please", "url": "file:///tmp/x.git"}, 422, "invalid repo name"),
             ("/dashboard/repos", {"name": "a/b", "url": "ftp://x"}, 422, "URL"),
             ("/dashboard/repos", {"name": "a/b", "url": "file:///tmp/x.git", "fetch_interval": "soon"}, 422,
              "whole number"),
             ("/dashboard/fetch", {"repo": "no/such"}, 404, "no repo named"),
             ("/dashboard/repos/no/such/pull", {"branch": "main"}, 404, "no repo named"),
             ("/dashboard/tokens", {"name": "bad name!", "scope": "read"}, 422, "invalid"),
             ("/dashboard/tokens", {"name": "ok", "scope": "root"}, 422, "scope must be"),
             ("/dashboard/forges", {"kind": "github", "host": "bad host"}, 422, "host")]
    for path, data, status, words in cases:
        answer = client.post(path, data={"csrf": csrf, **data})
        assert answer.status_code == status, (path, data, answer.status_code)
        assert words in answer.text and "Traceback" not in answer.text, (path, data)
    assert services(app).store.repos.all() == [] and services(app).store.tokens.all() == []


def test_a_new_token_is_shown_once_and_never_again(app: Any, client: Any) -> None:
    csrf = sign_in(client)
    created = client.post("/dashboard/tokens", data={"csrf": csrf, "name": "ci-bot", "scope": "write"})
    assert created.status_code == 201
    token = created.text.split('id="new-token" class="token" value="')[1].split('"')[0]
    assert token.startswith("gf_") and services(app).store.tokens.scope_of(token) == "write"
    listing = client.get("/dashboard/tokens").text
    assert "ci-bot" in listing and token not in listing
    client.post("/dashboard/tokens/revoke", data={"csrf": csrf, "name": "ci-bot"})
    assert services(app).store.tokens.scope_of(token) is None


def test_what_an_action_did_is_shown_on_the_page_it_leads_to_and_not_elsewhere(client: Any) -> None:
    csrf = sign_in(client)
    client.post("/dashboard/tokens", data={"csrf": csrf, "name": "ci-bot", "scope": "read"})
    revoked = client.post("/dashboard/tokens/revoke", data={"csrf": csrf, "name": "ci-bot"})
    assert revoked.status_code == 303 and revoked.headers["Location"].endswith("/dashboard/tokens")
    for elsewhere in ("/dashboard/jobs", "/dashboard/"):
        assert 'class="notice' not in client.get(elsewhere).text, elsewhere
    assert "Revoked token ci-bot." in client.get("/dashboard/tokens").text
    assert "Revoked token ci-bot." in client.get("/dashboard/tokens").text  # a reload of that page shows it still


def test_forge_secrets_are_never_shown(tmp_path: Any) -> None:
    from service.settings import load_settings
    from service.web import create_app

    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ADMIN_TOKEN": ADMIN,
                              "GITFERRY_SECRET_KEY": "a-secret-key-of-some-length-0123"})
    app = create_app(settings)
    try:
        client = app.test_client()
        csrf = sign_in(client)
        added = client.post("/dashboard/forges", data={"csrf": csrf, "kind": "gitea", "host": "git.example.com",
                                                       "api_url": "https://git.example.com/api/v1",
                                                       "token": "FORGE-TOKEN-xyz", "webhook_secret": "HOOK-SECRET-xyz"})
        assert added.status_code == 303
        for page in [*PAGES, "/dashboard/forges"]:
            text = client.get(page).text
            assert "FORGE-TOKEN-xyz" not in text and "HOOK-SECRET-xyz" not in text and ADMIN not in text
        assert "git.example.com" in client.get("/dashboard/forges").text
        client.post("/dashboard/forges/delete", data={"csrf": csrf, "host": "git.example.com"})
        assert services(app).store.forges.stored() == []
    finally:
        services(app).store.close()


def test_a_running_job_shows_its_progress_and_a_finished_one_its_result(app: Any, client: Any) -> None:
    store = services(app).store
    repo = store.repos.create("acme/big", "file:///tmp/big.git", pull_strategy=None, fetch_interval=None,
                              protected_branches=[])
    job, _ = store.jobs.add(repo, JobKind.CLONE, "api", {"url": "file:///tmp/big.git"}, None)
    assert store.jobs.start(job.id, 60) is not None
    store.jobs.set_progress(job.id, "receiving", 42)
    sign_in(client)
    table = client.get("/dashboard/jobs/table").text
    assert '<progress max="100" value="42"' in table and "receiving 42%" in table
    assert "a person or a bot (API)" in table
    page = client.get("/dashboard/repos/acme/big").text
    assert 'value="42"' in page


def test_the_overview_filters_searches_and_sorts(app: Any, client: Any) -> None:
    store = services(app).store
    for name in ("acme/b-widgets", "acme/a-gadgets", "other/c-tools"):
        store.repos.create(name, f"https://github.com/{name}.git", pull_strategy=None, fetch_interval=None,
                           protected_branches=[])
    broken = store.repos.by_name("other/c-tools")
    assert broken is not None
    store.repos.update(broken.id, state="error", error="fatal: could not read from remote\nsecond line")
    sign_in(client)
    page = client.get("/dashboard/").text
    assert "3 total" in page and "3 cloning" not in page and "2 cloning" in page and "1 failing" in page
    assert page.index("acme/a-gadgets") < page.index("acme/b-widgets") < page.index("other/c-tools")
    assert "fatal: could not read from remote\nsecond line" in page  # the error in full, on expand
    failing = client.get("/dashboard/?show=failing").text
    assert "other/c-tools" in failing and "acme/a-gadgets" not in failing.split('id="repos"')[1]
    found = client.get("/dashboard/?q=widg", headers={"HX-Request": "true", "HX-Target": "repos"}).text
    assert found.startswith('\n<div id="repos"') or found.lstrip().startswith('<div id="repos"')
    assert "acme/b-widgets" in found and "gadgets" not in found
    assert 'alt="GitHub"' in found


def test_a_remote_is_added_by_url_and_removed_as_the_api_does_it(app: Any, client: Any) -> None:
    store = services(app).store
    repo = store.repos.create("acme/forked", "file:///tmp/forked.git", pull_strategy=None, fetch_interval=None,
                              protected_branches=[])
    csrf = sign_in(client)
    added = client.post("/dashboard/repos/acme/forked/remotes",
                        data={"csrf": csrf, "name": "fork", "url": "file:///tmp/fork.git"})
    assert added.status_code == 303
    assert [r.name for r in store.repos.remotes(repo.id)] == ["fork", "origin"]
    first_fetch = store.jobs.latest(repo="acme/forked")[0]
    assert first_fetch.kind == "fetch" and first_fetch.params["remote"] == "fork"  # as the API does
    page = client.get("/dashboard/repos/acme/forked").text
    assert "Added remote fork; fetching it" in page and 'alt="Other host"' in page
    again = client.post("/dashboard/repos/acme/forked/remotes",
                        data={"csrf": csrf, "name": "fork", "url": "file:///tmp/fork.git"})
    assert again.status_code == 409 and "exists already" in again.text
    origin = client.post("/dashboard/repos/acme/forked/remotes/remove", data={"csrf": csrf, "remote": "origin"})
    assert origin.status_code == 409 and "cannot be removed" in origin.text
    removed = client.post("/dashboard/repos/acme/forked/remotes/remove", data={"csrf": csrf, "remote": "fork"})
    assert removed.status_code == 303
    assert [r.name for r in store.repos.remotes(repo.id)] == ["origin"]


def test_the_jobs_stream_first_says_what_changed_while_the_page_loaded(client: Any) -> None:
    sign_in(client)
    answer = client.get("/dashboard/jobs/stream", buffered=False)
    try:
        assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
        first = next(iter(answer.response))
        text = first.decode() if isinstance(first, bytes) else first
        assert text == "retry: 1000\n\nevent: jobs\ndata: changed\n\n"
    finally:
        answer.close()


def test_failures_are_pages_with_their_status_and_no_trace(client: Any) -> None:
    sign_in(client)
    missing = client.get("/dashboard/repos/no/such")
    assert missing.status_code == 404 and missing.mimetype == "text/html" and "no repo named" in missing.text
    wrong_method = client.get("/dashboard/sign-out")
    assert wrong_method.status_code == 405 and "Traceback" not in wrong_method.text
    fragment = client.get("/dashboard/repos/no/such", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and fragment.text.lstrip().startswith('<p class="notice failed"')


def test_deliveries_show_webhooks_and_notification_failures_without_secret_paths(app: Any, client: Any) -> None:
    from sqlalchemy import insert

    from service.domain.types import utcnow
    from service.store.tables import notifications

    store = services(app).store
    store.deliveries.record("github", "delivery-1", "push", set(), "no repo matches")
    with store.db.write() as conn:
        conn.execute(insert(notifications).values(
            job_id=7, url="https://hooks.chat.example/services/T0/SECRET-PATH", state="failed", attempts=5,
            last_status=500, last_error="the receiver answered 500", created_at=utcnow(), finished_at=utcnow()))
    sign_in(client)
    page = client.get("/dashboard/deliveries").text
    assert "delivery-1" in page and "ignored: no repo matches" in page
    assert "hooks.chat.example" in page and "the receiver answered 500" in page and "HTTP 500" in page
    assert "SECRET-PATH" not in page
    reader = app.test_client()
    sign_in(reader, store.tokens.create("peeker", "read"))
    assert reader.get("/dashboard/deliveries").status_code == 403


def test_web_processes_starting_together_share_one_session_key(tmp_path: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from service.web.dashboard.session import _key_file

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _key_file(tmp_path / "dashboard.key"), range(16)))
    assert len(keys) == 1 and len(keys.pop()) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["dashboard.key"]
    assert (tmp_path / "dashboard.key").stat().st_mode & 0o777 == 0o600


def test_each_remote_shows_its_own_last_fetch_attempt_and_failures(app: Any, client: Any) -> None:
    store = services(app).store
    repo = store.repos.create("acme/remotes", "file:///tmp/r.git", pull_strategy=None, fetch_interval=None,
                              protected_branches=[])
    store.repos.add_remote(repo.id, "fork", "file:///tmp/fork.git")
    store.repos.add_remote(repo.id, "never", "file:///tmp/never.git")
    hour_ago, now = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    store.repos.remotes_fetched(repo.id, (RemoteFetch("origin", hour_ago), RemoteFetch("fork", hour_ago)))
    for _ in range(2):
        store.repos.remotes_fetched(repo.id, (RemoteFetch("fork", now, "auth", "fork: <b>denied</b>"),))
    sign_in(client)
    page = client.get("/dashboard/repos/acme/remotes").text
    items = {name: page.split(f"<strong>{name}</strong>", 1)[1].split("</li>", 1)[0]
             for name in ("origin", "fork", "never")}
    assert "last fetched <time" in items["origin"] and "1 h ago" in items["origin"]
    assert "last tried" not in items["origin"] and "failed" not in items["origin"]
    assert "last tried" in items["fork"] and "the last 2 fetches failed" in items["fork"]
    assert "auth: fork: &lt;b&gt;denied&lt;/b&gt;" in items["fork"]
    assert "last fetched <time title=\"\">never</time>" in items["never"]


def test_a_branchs_menus_are_asked_for_when_they_open_and_say_which_branch(app: Any, client: Any) -> None:
    store = services(app).store
    repo = store.repos.create("acme/menus", "file:///tmp/m.git", pull_strategy=None, fetch_interval=None,
                              protected_branches=[])
    store.repos.ready(repo.id)
    tracked = {"name": "feat/<x>", "sha": "a" * 40, "upstream": "origin/feat/<x>", "ahead": 1, "behind": 0,
               "gone": False}
    alone = {"name": "solo", "sha": "b" * 40, "upstream": None, "ahead": None, "behind": None, "gone": False}
    store.repos.save_refs(repo.id, {"branches": [tracked, alone], "remote_branches": [], "tags": [], "pending": False})
    sign_in(client)
    page = client.get("/dashboard/repos/acme/menus").text
    assert "Remote branch name" not in page  # no form in the page itself: each menu brings its own
    assert 'title="1 commit to push">↑ 1</span> <span class="behind" title="0 commits to pull">↓ 0</span>' in page
    assert 'hx-get="/dashboard/branch-menu/acme/menus?menu=push&amp;n=1&amp;branch=feat%2F%3Cx%3E"' in page
    push = client.get("/dashboard/branch-menu/acme/menus?menu=push&n=1&branch=feat%2F%3Cx%3E").text
    assert "Push to <bdi>origin/feat/&lt;x&gt;</bdi>." in push and 'id="push-to-1"' in push
    solo = client.get("/dashboard/branch-menu/acme/menus?menu=push&n=2&branch=solo").text
    assert 'id="push-as-2" name="remote_branch" value="solo"' in solo and "<option>origin</option>" in solo
    upstream = client.get("/dashboard/branch-menu/acme/menus?menu=upstream&n=1&branch=feat%2F%3Cx%3E").text
    assert 'value="origin/feat/&lt;x&gt;"' in upstream and "Unset upstream" in upstream
    gone = client.get("/dashboard/branch-menu/acme/menus?menu=push&n=1&branch=deleted", headers={"HX-Request": "true"})
    assert gone.status_code == 404 and "no local branch named &#39;deleted&#39;; reload the page" in gone.text
    assert client.get("/dashboard/branch-menu/acme/menus?menu=other&branch=solo").status_code == 404
    odd_number = client.get("/dashboard/branch-menu/acme/menus?menu=push&n=1%22%3E&branch=solo").text
    assert odd_number.count('id="push-as-0"') == 1
