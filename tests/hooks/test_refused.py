"""Deliveries refused for a missing or wrong signature or token: answered as before (401), kept on
the deliveries page with what their headers said, bounded however many come."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.settings import load_settings
from service.store.refused import KEPT
from service.web import create_app
from tests.dashboard.conftest import Markup, sign_in
from tests.hooks import signing
from tests.support.live import ADMIN

SECRET = "global-hook-secret"
GH = "https://github.com/acme/widgets.git"

# (forge kind, endpoint, a delivery signed with the given secret, its event, its delivery id)
DELIVERIES: list[tuple[str, str, Any, str, str]] = [
    ("github", "github", lambda s: signing.github(signing.github_push(GH), s, delivery="gh-1"), "push", "gh-1"),
    ("gitlab", "gitlab", lambda s: signing.gitlab(signing.gitlab_push(GH, "acme/widgets"), s, delivery="gl-1"),
     "Push Hook", "gl-1"),
    ("bitbucket-cloud", "bitbucket",
     lambda s: signing.bitbucket_cloud(signing.bitbucket_cloud_push("acme/widgets"), s, delivery="bbc-1"),
     "repo:push", "bbc-1"),
    ("bitbucket-server", "bitbucket",
     lambda s: signing.bitbucket_server(signing.bitbucket_server_push(GH), s, delivery="bbs-1"),
     "repo:refs_changed", "bbs-1"),
    ("gitea", "gitea", lambda s: signing.gitea(signing.github_push(GH), s, delivery="gt-1"), "push", "gt-1"),
    ("azure-devops", "azure-devops",
     lambda s: signing.azure(signing.azure_push("https://dev.azure.com/acme/widgets/_git/widgets"), s), "", ""),
]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ADMIN_TOKEN": ADMIN,
                                     "GITFERRY_WEBHOOK_SECRET": SECRET}))


@pytest.mark.parametrize("kind, endpoint, delivery, event, delivery_id", DELIVERIES, ids=[d[0] for d in DELIVERIES])
def test_a_delivery_with_a_bad_signature_shows_as_refused(app: Flask, kind: str, endpoint: str, delivery: Any,
                                                          event: str, delivery_id: str) -> None:
    hooks = app.test_client()
    body, headers = delivery("not-the-secret")
    answer = hooks.post(f"/hooks/{endpoint}", data=body, headers=headers)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "bad_signature"
    [refused] = app.extensions["gitferry"].store.refused.recent()
    assert (refused.forge, refused.event, refused.delivery_id, refused.reason, refused.sender) == (
        kind, event, delivery_id, "bad signature", "127.0.0.1")
    admin = app.test_client()
    sign_in(admin)
    page = admin.get(f"/dashboard/deliveries?forge={kind}").text
    assert "refused: bad signature" in page and (delivery_id in page if delivery_id else "none given" in page)
    assert "not-the-secret" not in page and SECRET not in page
    other = next(k for k, *_ in DELIVERIES if k != kind)
    assert "refused: bad signature" not in admin.get(f"/dashboard/deliveries?forge={other}").text


def test_an_unsigned_delivery_is_refused_as_such_and_answered_as_before(app: Flask) -> None:
    hooks = app.test_client()
    body, headers = signing.github(signing.github_push(GH), SECRET, delivery="unsigned-1")
    del headers["X-Hub-Signature-256"]
    answer = hooks.post("/hooks/github", data=body, headers=headers)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unsigned"
    assert [r.reason for r in app.extensions["gitferry"].store.refused.recent()] == ["no signature or token"]
    body, headers = signing.github(signing.github_push(GH), SECRET, delivery="good-1")
    assert hooks.post("/hooks/github", data=body, headers=headers).status_code == 202
    assert len(app.extensions["gitferry"].store.refused.recent()) == 1  # a good one is not a refusal


def test_a_flood_of_forged_deliveries_keeps_only_the_latest(app: Flask) -> None:
    hooks: FlaskClient = app.test_client()
    for n in range(1000):
        body, headers = signing.github(signing.github_push(GH), "forged", delivery=f"forged-{n}")
        assert hooks.post("/hooks/github", data=body, headers=headers).status_code == 401
    store = app.extensions["gitferry"].store
    assert store.refused.count("github") == KEPT
    assert store.refused.recent(limit=1)[0].delivery_id == "forged-999"


def test_hostile_headers_of_a_refused_delivery_are_shown_as_text(app: Flask) -> None:
    hooks = app.test_client()
    body, headers = signing.github(signing.github_push(GH), "forged", event='x"onmouseover=alert(1)',
                                   delivery="<script>alert(1)</script>")
    assert hooks.post("/hooks/github", data=body, headers=headers).status_code == 401
    app.extensions["gitferry"].store.refused.add("gitea", "evil\u202etxt.exe", "<img src=x onerror=alert(1)>",
                                                 "bad signature", "192.0.2.1")
    admin = app.test_client()
    sign_in(admin)
    page = admin.get("/dashboard/deliveries").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "x&#34;onmouseover=alert(1)" in page
    assert "evil[U+202E]txt.exe" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page and '"onmouseover' not in page and "\u202e" not in page
    markup = Markup(page)
    assert all(markup.scripts) and not markup.inline_script and not markup.handlers


def test_an_unknown_forge_filter_is_a_readable_400(app: Flask) -> None:
    admin = app.test_client()
    sign_in(admin)
    answer = admin.get("/dashboard/deliveries?forge=<nope>")
    assert answer.status_code == 400 and "no forge kind" in answer.text and "<nope>" not in answer.text
