"""Bad input on every endpoint: a 4xx JSON error (never HTML, never a 500), and nothing changes.

One repo (`acme/widgets`, its clone job stays queued: no worker runs here) with one sync rule
(`nightly`), and a read and a write token are made once per module; every case compares jobs, repos
(with remotes and notification settings), the repo's rules and tokens before and after its request.
Three apps share one store: allow-local on (as in tests/conftest.py), off, and with a 2 KiB body
limit.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.settings import load_settings
from service.web import create_app
from tests.api.bad_input_cases import ALL_CASES, LOCAL_URLS, NO_BODY, REPO, RULE, RULES, SMALL_LIMIT, Case
from tests.support.live import ADMIN
from tests.support.services import postgres_database

# --- the module's world ------------------------------------------------------------------------


@dataclass
class World:
    clients: dict[str, FlaskClient]
    tokens: dict[str, str]

    def headers(self, token: str) -> dict[str, str]:
        if token == "none":
            return {}
        value = {"admin": f"Bearer {ADMIN}", "unknown": "Bearer not-a-token", "basic": "Basic YWRtaW46YWRtaW4=",
                 "empty": "Bearer "}.get(token) or f"Bearer {self.tokens[token]}"
        return {"Authorization": value}

    def state(self) -> Any:
        """Everything a bad request must leave alone."""
        client, headers = self.clients["local"], self.headers("admin")
        calls = ["/api/v1/jobs?limit=500", "/api/v1/repos", "/api/v1/tokens", RULES]
        answers = [client.get(path, headers=headers) for path in calls]
        assert all(a.status_code == 200 for a in answers), [a.get_data(as_text=True) for a in answers]
        return [a.get_json() for a in answers]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The module's world on each database: what one refuses (a NUL, a value too long), the other must too."""
    with postgres_database() if request.param == "postgresql" else contextlib.nullcontext("") as database:
        yield from _world(tmp_path_factory, database)


def _world(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[World]:
    settings = load_settings({
        "GITFERRY_DATA_DIR": str(tmp_path_factory.mktemp("bad-input") / "data"),
        "GITFERRY_DATABASE_URL": database,
        "GITFERRY_ADMIN_TOKEN": ADMIN,
        "GITFERRY_ALLOW_LOCAL_REMOTES": "1",
        "GITFERRY_FETCH_INTERVAL": "0",
        # Every endpoint gets a wrong token from the one test address: tests/api/test_auth_limit.py
        # tests the limit on wrong tokens.
        "GITFERRY_AUTH_FAILURES": "0",
    })
    local = create_app(settings)
    services = local.extensions["gitferry"]
    shared = {"store": services.store, "jobs": services.jobs}
    apps = {
        "local": local,
        "strict": create_app(settings.with_(allow_local_remotes=False), **shared),
        "small": create_app(settings.with_(max_body_bytes=SMALL_LIMIT), **shared),
    }
    world = World({k: a.test_client() for k, a in apps.items()}, {})
    client, admin = world.clients["local"], world.headers("admin")
    created = client.post("/api/v1/repos", json={"name": REPO, "url": "https://github.com/acme/widgets"},
                          headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["state"] == "cloning"
    answer = client.post(RULES, json={"name": RULE, "remote": "origin", "branch": "main"}, headers=admin)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    for name, scope in [("reader", "read"), ("writer", "write")]:
        answer = client.post("/api/v1/tokens", json={"name": name, "scope": scope}, headers=admin)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        world.tokens[scope] = answer.get_json()["token"]
    yield world
    services.store.close()


def assert_json_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "application/json", text
    assert "Traceback" not in text and "<html" not in text.lower()
    body = json.loads(text)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body




@pytest.mark.parametrize("c", ALL_CASES)
def test_bad_input_is_a_json_4xx_and_changes_nothing(world: World, c: Case) -> None:
    before = world.state()
    headers = {**world.headers(c.token), **dict(c.headers)}
    kwargs: dict[str, Any] = {}
    if c.body is not NO_BODY:
        kwargs["data"] = c.body if isinstance(c.body, bytes) else json.dumps(c.body)
        headers.setdefault("Content-Type", "application/json")
    if c.chunked:
        kwargs = {"input_stream": io.BytesIO(kwargs["data"].encode()),
                  "environ_overrides": {"wsgi.input_terminated": True}}
        headers["Transfer-Encoding"] = "chunked"
    response = world.clients[c.app].open(c.path, method=c.method, headers=headers, **kwargs)
    assert_json_error(response, c.status, c.code)
    if c.status == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers
    assert world.state() == before


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/v1/nope", 404),
    ("GET", "/nope", 404),
    ("POST", "/api/v1", 404),
    ("GET", "/api/v1/repos/", 404),
    ("DELETE", "/api/v1/repos", 405),
    ("PUT", "/api/v1/jobs", 405),
    ("POST", "/api/v1/jobs/1", 405),
    ("POST", "/api/v1/openapi.json", 405),
    ("PATCH", "/api/v1/tokens", 405),
])
def test_unknown_url_and_wrong_method_are_json(world: World, method: str, path: str, status: int) -> None:
    before = world.state()
    response = world.clients["local"].open(path, method=method, headers=world.headers("admin"), json={})
    assert_json_error(response, status)
    if status == 405:
        assert response.headers.get("Allow")
    assert world.state() == before


GITHUB = (("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "d-1"), ("X-Hub-Signature-256", "sha256=00"))
AZURE = (("Authorization", "Basic eDp5"),)
SIGNED_BODIES = [("malformed", b"{bad"), ("not-utf8", b'{"a": "\xff"}'), ("deeply-nested", b"[" * 1500),
                 ("nested-in-object", b'{"a": ' + b"[" * 1500), ("array", b"[]"), ("null", b"null"), ("empty", b"")]


@pytest.mark.parametrize("forge, headers, body, status, app", [
    # A signature no secret here makes (none is set in this world): refused before the body is parsed.
    *[("github", GITHUB, body, 401, "local") for _, body in SIGNED_BODIES],
    *[("azure-devops", AZURE, body, 401, "local") for _, body in SIGNED_BODIES],
    ("github", (), b"{}", 401, "local"),  # no signature
    ("gitlab", (), b"{}", 401, "local"),
    ("gitea", (), b"{}", 401, "local"),
    ("azure-devops", (), b"{}", 401, "local"),
    ("bitbucket", (), b"{}", 400, "local"),  # neither Cloud's nor Server's headers
    ("github", GITHUB, b"{}", 401, "local"),
    ("github", GITHUB, json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": "1" * 40, "repository": {
        "full_name": "acme/widgets", "clone_url": "https://github.com/acme/widgets.git"}}).encode(), 401,
     "local"),  # no webhook secret configured here
    ("github", GITHUB, b'{"pad": "' + b"x" * SMALL_LIMIT + b'"}', 413, "small"),
    ("sourcehut", (), b"{}", 404, "local"),
    ("GitHub", (), b"{}", 404, "local"),
], ids=lambda v: v[:20].decode("utf-8", "replace") if isinstance(v, bytes) else None)
def test_bad_webhook_delivery_is_a_json_4xx_and_changes_nothing(world: World, forge: str,
                                                                headers: tuple[tuple[str, str], ...], body: bytes,
                                                                status: int, app: str) -> None:
    before = world.state()
    response = world.clients[app].post(f"/hooks/{forge}", data=body,
                                       headers={"Content-Type": "application/json", **dict(headers)})
    assert_json_error(response, status)
    assert world.state() == before


@pytest.mark.parametrize("path, allow", [("/api/v1/repos", {"GET", "HEAD", "POST", "OPTIONS"}),
                                         ("/api/v1/jobs", {"GET", "HEAD", "OPTIONS"}),
                                         ("/hooks/github", {"POST", "OPTIONS"}),
                                         ("/healthz", {"GET", "HEAD", "OPTIONS"})])
def test_options_says_what_is_allowed_and_nothing_else(world: World, path: str, allow: set[str]) -> None:
    response = world.clients["local"].open(path, method="OPTIONS")
    assert response.status_code == 204 and not response.data and "Content-Type" not in response.headers
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allow


def test_revoked_token_is_refused_at_once(client: FlaskClient, admin: dict[str, str]) -> None:
    token = client.post("/api/v1/tokens", json={"name": "gone", "scope": "admin"}, headers=admin).get_json()["token"]
    assert client.get("/api/v1/repos", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.delete("/api/v1/tokens/gone", headers=admin).status_code == 204
    response = client.get("/api/v1/repos", headers={"Authorization": f"Bearer {token}"})
    assert_json_error(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


def test_local_urls_are_fine_when_allowed(world: World) -> None:
    """The strict cases above fail for being local, not for being malformed."""
    from service.domain.validation import check_url

    for url in LOCAL_URLS:
        check_url(url, allow_local=True)


def test_case_table_covers_every_api_rule(world: World) -> None:
    """Each /api/v1 rule of the app is hit by at least one case (so new endpoints get bad-input cases)."""
    app = world.clients["local"].application
    adapter = app.url_map.bind("localhost")
    hit = set()
    for param in ALL_CASES:
        c: Case = param.values[0]
        try:
            rule, _ = adapter.match(c.path.split("?")[0], method=c.method, return_rule=True)
        except Exception:  # 404/405 cases
            continue
        hit.add((rule.rule, c.method))
    wanted = {(r.rule, m) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              and r.rule != "/api/v1/openapi.json" for m in r.methods - {"HEAD", "OPTIONS"}}
    assert wanted - hit == set()
