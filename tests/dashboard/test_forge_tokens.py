"""The forges page's "Test token" for each forge, against the fake forges: the account or the refusal,
never a secret, as a whole page (no JavaScript) and as the row's fragment (htmx)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings, parse_forge
from tests.dashboard.conftest import sign_in
from tests.forges.conftest import LAYOUTS, TOKEN, Setup, start_fake
from tests.support.fake_forges import ACCOUNT

WRONG = "wrong-t0ken-from-a-stale-config"
HOOK_SECRET = "forge-hook-secret-2b7c"


@pytest.fixture(params=list(LAYOUTS))
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    s = start_fake(request.param, tmp_path / "forge")
    yield s
    s.fake.stop()


def app_with(settings: Settings, *entries: dict[str, str]) -> Iterator[Any]:
    from service.web import create_app

    forges = tuple(parse_forge({**entry, "webhook_secret": HOOK_SECRET}) for entry in entries)
    app = create_app(settings.with_(forges=forges))
    yield app
    app.extensions["gitferry"].store.close()


def test_the_page_names_the_account_of_a_good_token_and_the_refusal_of_a_bad_one(
        settings: Settings, setup: Setup, tmp_path: Path) -> None:
    other = start_fake(setup.entry["kind"], tmp_path / "other")
    try:
        stale = {**other.entry, "token": WRONG}
        for app in app_with(settings, setup.entry, stale):
            client = app.test_client()
            csrf = sign_in(client)
            good = client.post("/dashboard/forges/test", data={"csrf": csrf, "host": setup.fake.netloc})
            bad = client.post("/dashboard/forges/test", data={"csrf": csrf, "host": other.fake.netloc},
                              headers={"HX-Request": "true"})
            assert good.status_code == 200 and "Token accepted" in good.text
            assert f'<strong class="account">{ACCOUNT}</strong>' in good.text
            assert good.text.count("token-test ok") == 1  # in the tested forge's row only
            assert bad.status_code == 200 and "Token refused" in bad.text and "refused the token" in bad.text
            assert not bad.text.lstrip().startswith("<!doctype")  # the row's fragment
            for page in (good.text, bad.text, client.get("/dashboard/forges").text):
                assert TOKEN not in page and WRONG not in page and HOOK_SECRET not in page
    finally:
        other.fake.stop()


def test_testing_needs_an_admin_a_forge_there_is_and_the_forms_csrf(settings: Settings, tmp_path: Path) -> None:
    github = start_fake("github", tmp_path / "gh")
    try:
        for app in app_with(settings, github.entry):
            admin = app.test_client()
            csrf = sign_in(admin)
            missing = admin.post("/dashboard/forges/test", data={"csrf": csrf, "host": "nowhere.example"})
            assert missing.status_code == 404 and "no forge for host" in missing.text
            assert admin.post("/dashboard/forges/test", data={"host": github.fake.netloc}).status_code == 403
            writer = app.test_client()
            token = app.extensions["gitferry"].store.tokens.create("writer", "write")
            w_csrf = sign_in(writer, token)
            refused = writer.post("/dashboard/forges/test", data={"csrf": w_csrf, "host": github.fake.netloc})
            assert refused.status_code == 403
            assert not github.fake.api_requests
    finally:
        github.fake.stop()
