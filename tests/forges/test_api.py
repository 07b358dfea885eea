"""The API over forges: /api/v1/forges, /repos/{name}/forks and remotes from forks, in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.settings import Settings, parse_forge
from tests.forges.conftest import TOKEN, Setup, start_fake

SECRET = "a-secret-key-of-some-length-123"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[Setup]:
    s = start_fake("github", tmp_path / "gh")
    yield s
    s.fake.stop()


def make_client(settings: Settings) -> Iterator[FlaskClient]:
    from service.web import create_app

    app: Flask = create_app(settings)
    yield app.test_client()
    app.extensions["gitferry"].store.close()


@pytest.fixture
def gh_client(settings: Settings, github: Setup) -> Iterator[FlaskClient]:
    yield from make_client(settings.with_(forges=(parse_forge(github.entry),), secret_key=SECRET))


def add_repo(client: FlaskClient, admin: dict[str, str], url: str, name: str = "acme/widgets") -> None:
    r = client.post("/api/v1/repos", json={"name": name, "url": url}, headers=admin)
    assert r.status_code == 201, r.json


def test_forks_listed_and_cached(gh_client: FlaskClient, admin: dict[str, str], github: Setup) -> None:
    add_repo(gh_client, admin, github.origin_url)
    r = gh_client.get("/api/v1/repos/acme/widgets/forks", headers=admin)
    assert r.status_code == 200, r.json
    assert sorted(f["full_name"] for f in r.json["forks"]) == sorted(github.forks)
    assert set(r.json["forks"][0]) == {"full_name", "owner", "clone_url", "ssh_url", "web_url", "provider"}
    count = len(github.fake.api_requests)
    gh_client.get("/api/v1/repos/acme/widgets/forks", headers=admin)
    assert len(github.fake.api_requests) == count  # from the cache
    gh_client.get("/api/v1/repos/acme/widgets/forks?refresh=1", headers=admin)
    assert [r.status for r in github.fake.api_requests[count:]] == [304, 304, 304]


def test_forge_failures_become_answers(gh_client: FlaskClient, admin: dict[str, str], github: Setup) -> None:
    add_repo(gh_client, admin, github.origin_url)
    github.fake.fail(500, body={"message": "Server Error: try later"})
    r = gh_client.get("/api/v1/repos/acme/widgets/forks?refresh=1", headers=admin)
    assert r.status_code == 502 and "Server Error: try later" in r.json["error"]["message"]
    github.fake.fail(401, body={"message": "Bad credentials"})
    r = gh_client.get("/api/v1/repos/acme/widgets/forks?refresh=1", headers=admin)
    assert r.status_code == 502 and "refused the token" in r.json["error"]["message"]
    github.fake.rate_limited(120)  # type: ignore[attr-defined]
    r = gh_client.get("/api/v1/repos/acme/widgets/forks?refresh=1", headers=admin)
    assert r.status_code == 503 and 115 <= int(r.headers["Retry-After"]) <= 121
    assert TOKEN not in r.get_data(as_text=True)


def test_origin_without_integration_names_the_host(client: FlaskClient, admin: dict[str, str]) -> None:
    add_repo(client, admin, "https://git.example.org/acme/widgets.git")
    r = client.get("/api/v1/repos/acme/widgets/forks", headers=admin)
    assert r.status_code == 422 and "git.example.org" in r.json["error"]["message"]
    r = client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "alice/widgets"}, headers=admin)
    assert r.status_code == 422 and "git.example.org" in r.json["error"]["message"]


def test_remote_from_a_fork(gh_client: FlaskClient, admin: dict[str, str], github: Setup) -> None:
    add_repo(gh_client, admin, github.origin_url)
    r = gh_client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "Eve-X/w"}, headers=admin)
    assert r.status_code == 201, r.json
    assert (r.json["name"], r.json["url"], r.json["provider"]) == ("eve-x", github.fake.url_of(
        github.fake.repos["Eve-X/w"]), "github")
    assert r.json["job"]["kind"] == "fetch" and r.json["job"]["params"]["remote"] == "eve-x"
    r = gh_client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "bob/widgets", "name": "b"},
                       headers=admin)
    assert r.status_code == 201 and r.json["name"] == "b"
    r = gh_client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "mallory/widgets"}, headers=admin)
    assert r.status_code == 404 and r.json["error"]["code"] == "fork_not_found"
    r = gh_client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "bob/widgets", "name": "b"},
                       headers=admin)
    assert r.status_code == 409
    r = gh_client.post("/api/v1/repos/acme/widgets/remotes",
                       json={"fork": "bob/widgets", "url": "https://evil.example/x.git"}, headers=admin)
    assert r.status_code == 400
    r = gh_client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "bob/widgets", "name": "-x"},
                       headers=admin)
    assert r.status_code == 422


def test_remote_from_a_fork_over_ssh(settings: Settings, admin: dict[str, str], github: Setup) -> None:
    forge = parse_forge({**github.entry, "git_protocol": "ssh"})
    for client in make_client(settings.with_(forges=(forge,))):
        add_repo(client, admin, github.origin_url)
        r = client.post("/api/v1/repos/acme/widgets/remotes", json={"fork": "alice/widgets"}, headers=admin)
        assert r.status_code == 201, r.json
        assert r.json["url"] == "git@127.0.0.1:alice/widgets.git"


def test_forges_api(settings: Settings, admin: dict[str, str], github: Setup, tmp_path: Path) -> None:
    config = parse_forge({"kind": "gitlab", "host": "gitlab.example.com", "api_url": "https://gitlab.example.com",
                          "token": "toml-token-1"})
    for client in make_client(settings.with_(forges=(config,), secret_key=SECRET)):
        r = client.post("/api/v1/forges", json=github.entry | {"webhook_secret": "hook-secret-77"}, headers=admin)
        assert r.status_code == 201, r.json
        listed = client.get("/api/v1/forges", headers=admin).json["forges"]
        assert [(f["host"], f["source"], f["has_token"]) for f in listed] == [
            ("gitlab.example.com", "config", True), (github.fake.netloc, "api", True)]
        assert listed[1]["has_webhook_secret"] is True
        text = client.get("/api/v1/forges", headers=admin).get_data(as_text=True)
        assert TOKEN not in text and "toml-token-1" not in text and "hook-secret-77" not in text
        # The stored forge is in effect at once: forks of a repo on its host.
        add_repo(client, admin, github.origin_url)
        assert client.get("/api/v1/repos/acme/widgets/forks", headers=admin).status_code == 200
        assert client.get("/api/v1/repos/acme/widgets", headers=admin).json["provider"] == "github"
        assert client.post("/api/v1/forges", json=github.entry, headers=admin).status_code == 409
        assert client.post("/api/v1/forges", json={"kind": "gitlab", "host": "gitlab.example.com",
                                                   "api_url": "https://gitlab.example.com"},
                           headers=admin).status_code == 409
        assert client.post("/api/v1/forges", json={"kind": "nope", "host": "x"}, headers=admin).status_code == 422
        assert client.post("/api/v1/forges", json={"kind": "gitea", "host": "x.example", "api_url": "ftp://x"},
                           headers=admin).status_code == 422
        assert client.post("/api/v1/forges", json={"kind": "gitea", "host": "x", "tokn": "t"},
                           headers=admin).status_code == 400
        assert client.delete("/api/v1/forges/gitlab.example.com", headers=admin).status_code == 409
        assert client.delete(f"/api/v1/forges/{github.fake.netloc}", headers=admin).status_code == 204
        assert client.delete(f"/api/v1/forges/{github.fake.netloc}", headers=admin).status_code == 404
        assert client.get("/api/v1/repos/acme/widgets/forks", headers=admin).status_code == 422
        reader = client.post("/api/v1/tokens", json={"name": "r", "scope": "write"}, headers=admin).json["token"]
        assert client.get("/api/v1/forges", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    database = Path(settings.data_dir / "gitferry.sqlite")
    raw = b"".join(p.read_bytes() for p in database.parent.glob("gitferry.sqlite*"))
    assert TOKEN.encode() not in raw and b"hook-secret-77" not in raw


def test_storing_a_token_needs_the_secret_key(client: FlaskClient, admin: dict[str, str]) -> None:
    entry = {"kind": "gitea", "host": "gitea.example.com", "api_url": "https://gitea.example.com", "token": "t"}
    r = client.post("/api/v1/forges", json=entry, headers=admin)
    assert r.status_code == 422 and "GITFERRY_SECRET_KEY" in r.json["error"]["message"]
    entry.pop("token")
    assert client.post("/api/v1/forges", json=entry, headers=admin).status_code == 201


@pytest.mark.parametrize("body", [{"kind": 1, "host": "x.example"}, {"kind": "gitea", "host": ["x"]},
                                  {"kind": "gitea", "host": "x.example", "api_url": "https://x.example",
                                   "token": 5}])
def test_forge_fields_of_the_wrong_type_are_400(client: FlaskClient, admin: dict[str, str], body: dict) -> None:
    r = client.post("/api/v1/forges", json=body, headers=admin)
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_field"


@pytest.mark.parametrize("body", [
    {"kind": "gitea", "host": "x.example"},  # no api_url
    {"kind": "gitea", "host": "x.example/evil", "api_url": "https://x.example"},
    {"kind": "gitea", "host": "x.example", "api_url": "http://x.example"},
    {"kind": "gitea", "host": "x.example", "api_url": "https://u:p@x.example"},
    {"kind": "gitea", "host": "x.example", "api_url": "https://x.example", "git_protocol": "ftp"},
    {"kind": "bitbucket-server", "host": "bb.example", "api_url": "https://bb.example", "token": "t"},
])
def test_forge_entries_that_cannot_work_are_422(settings: Settings, admin: dict[str, str], body: dict) -> None:
    for client in make_client(settings.with_(secret_key=SECRET, allow_local_remotes=False)):
        r = client.post("/api/v1/forges", json=body, headers=admin)
        assert r.status_code == 422, r.json
        assert client.get("/api/v1/forges", headers=admin).json["forges"] == []


def test_stored_secrets_need_the_same_key_to_be_read(settings: Settings, admin: dict[str, str],
                                                      github: Setup) -> None:
    for client in make_client(settings.with_(secret_key=SECRET)):
        assert client.post("/api/v1/forges", json=github.entry, headers=admin).status_code == 201
        add_repo(client, admin, github.origin_url)
    for client in make_client(settings.with_(secret_key="another-key-entirely-000")):
        # Listed, but without a readable token the forge refuses: the answer says so, nothing crashes.
        listed = client.get("/api/v1/forges", headers=admin).json["forges"]
        assert listed[0]["has_token"] is True
        r = client.get("/api/v1/repos/acme/widgets/forks", headers=admin)
        assert r.status_code == 502 and "refused the token" in r.json["error"]["message"]
