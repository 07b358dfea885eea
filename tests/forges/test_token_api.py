"""POST /api/v1/forges/{host}/test: a forge's token tested through the API, for every forge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings, parse_forge
from tests.forges.conftest import TOKEN, Setup, start_fake
from tests.forges.test_api import SECRET, make_client
from tests.support.fake_forges import ACCOUNT


@pytest.fixture
def github(tmp_path: Path) -> Iterator[Setup]:
    s = start_fake("github", tmp_path / "gh")
    yield s
    s.fake.stop()


def test_an_added_forge_tells_whose_token_it_has(settings: Settings, admin: dict[str, str], setup: Setup) -> None:
    for client in make_client(settings.with_(secret_key=SECRET)):
        assert client.post("/api/v1/forges", json=setup.entry, headers=admin).status_code == 201
        r = client.post(f"/api/v1/forges/{setup.fake.netloc}/test", headers=admin)
        assert r.status_code == 200, r.json
        assert r.json == {"host": setup.fake.netloc, "kind": setup.entry["kind"], "ok": True, "outcome": "ok",
                          "account": ACCOUNT, "message": "the forge accepted the token"}
        assert TOKEN not in r.get_data(as_text=True)


def test_a_configured_forge_with_a_bad_token_is_refused(settings: Settings, admin: dict[str, str],
                                                        setup: Setup) -> None:
    wrong = "stale-t0ken-from-the-config-file"
    forge = parse_forge({**setup.entry, "token": wrong})
    for client in make_client(settings.with_(forges=(forge,))):
        r = client.post(f"/api/v1/forges/{setup.fake.netloc}/test", headers=admin)
        assert r.status_code == 200, r.json
        assert (r.json["ok"], r.json["outcome"], r.json["account"]) == (False, "token_refused", "")
        assert "refused the token" in r.json["message"] and wrong not in r.get_data(as_text=True)


def test_only_admins_test_tokens_and_only_of_forges_there_are(settings: Settings, admin: dict[str, str],
                                                              github: Setup) -> None:
    for client in make_client(settings.with_(forges=(github.forge,))):
        writer = client.post("/api/v1/tokens", json={"name": "w", "scope": "write"}, headers=admin).json["token"]
        r = client.post(f"/api/v1/forges/{github.fake.netloc}/test", headers={"Authorization": f"Bearer {writer}"})
        assert r.status_code == 403
        missing = client.post("/api/v1/forges/nowhere.example/test", headers=admin)
        assert missing.status_code == 404 and missing.json["error"]["code"] == "forge_not_found"
        assert not github.fake.api_requests


def test_a_local_forge_is_refused_unless_local_remotes_are_allowed(settings: Settings, admin: dict[str, str],
                                                                  github: Setup) -> None:
    from service import outbound

    strict = settings.with_(forges=(github.forge,), allow_local_remotes=False)
    for client in make_client(strict):
        with outbound.local_hosts(False):
            r = client.post(f"/api/v1/forges/{github.fake.netloc}/test", headers=admin)
        assert r.status_code == 200 and r.json["outcome"] == "host_refused", r.json
        assert not github.fake.api_requests
