"""POST /hooks/<forge> through Flask's test client: verify, record, enqueue, answer (no worker runs here)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from service.settings import load_settings
from service.web import create_app
from tests.hooks import signing
from tests.support.live import ADMIN

SECRET = "global-hook-secret"
GITLAB_SECRET = "gitlab-own-secret"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
GH_URL = "https://github.com/acme/widgets.git"
GL_URL = "https://gitlab.example.com/acme/widgets.git"


@pytest.fixture
def hook_app(tmp_path: Path) -> Flask:
    config = tmp_path / "forges.toml"
    config.write_text(
        f'[[forges]]\nkind = "gitlab"\nhost = "gitlab.example.com"\napi_url = "https://gitlab.example.com"\n'
        f'webhook_secret = "{GITLAB_SECRET}"\n'
        '[[forges]]\nkind = "bitbucket-server"\nhost = "bb.example.com"\napi_url = "https://bb.example.com"\n'
    )
    settings = load_settings(
        {
            "GITFERRY_DATA_DIR": str(tmp_path / "data"),
            "GITFERRY_ADMIN_TOKEN": ADMIN,
            "GITFERRY_WEBHOOK_SECRET": SECRET,
            "GITFERRY_CONFIG": str(config),
        }
    )
    app = create_app(settings)
    client = app.test_client()
    assert client.post("/api/v1/repos", json={"name": "acme/widgets", "url": GH_URL}, headers=AUTH).status_code == 201
    assert (
        client.post("/api/v1/repos/acme/widgets/remotes", json={"name": "gl", "url": GL_URL}, headers=AUTH).status_code
        == 201
    )
    return app


@pytest.fixture
def hooks(hook_app: Flask) -> FlaskClient:
    return hook_app.test_client()


def jobs(client: FlaskClient, kind: str = "fetch") -> list[dict]:
    found = client.get(f"/api/v1/jobs?kind={kind}", headers=AUTH).json["jobs"]
    return [j for j in found if j["trigger"] == "webhook"]


def post(client: FlaskClient, endpoint: str, delivery: tuple[bytes, dict]):  # type: ignore[no-untyped-def]
    body, headers = delivery
    return client.post(f"/hooks/{endpoint}", data=body, headers=headers)


def test_github_push_fetches_the_matching_remote(hooks: FlaskClient) -> None:
    r = post(hooks, "github", signing.github(signing.github_push("git@github.com:Acme/Widgets.git"), SECRET))
    assert r.status_code == 202
    (job,) = jobs(hooks)
    assert r.json == {"jobs": [job["id"]]}
    assert (job["repo"], job["params"]) == ("acme/widgets", {"remote": "origin", "prune": True})


def test_redelivery_answers_the_same_jobs_and_makes_none(hooks: FlaskClient) -> None:
    delivery = signing.github(signing.github_push(GH_URL), SECRET, delivery="d-1")
    first = post(hooks, "github", delivery)
    again = post(hooks, "github", delivery)
    assert again.status_code == 202 and again.json == first.json
    assert len(jobs(hooks)) == 1


def test_queued_fetch_is_joined_by_later_pushes(hooks: FlaskClient) -> None:
    answers = [
        post(hooks, "github", signing.github(signing.github_push(GH_URL, after=c * 40), SECRET)).json for c in "bcd"
    ]
    assert answers[0] == answers[1] == answers[2]
    assert len(jobs(hooks)) == 1


def test_forge_host_secret_wins_over_the_global_one(hooks: FlaskClient) -> None:
    push = signing.gitlab_push(GL_URL, "acme/widgets")
    assert post(hooks, "gitlab", signing.gitlab(push, SECRET)).status_code == 401
    r = post(hooks, "gitlab", signing.gitlab(push, GITLAB_SECRET))
    assert r.status_code == 202, r.json
    # it joins the fetch of "gl" queued when the remote was added
    (job_id,) = r.json["jobs"]
    assert hooks.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json["params"]["remote"] == "gl"


@pytest.mark.parametrize(
    "endpoint, delivery",
    [
        ("github", lambda s: signing.github(signing.github_push("https://github.com/other/thing.git"), s)),
        ("bitbucket", lambda s: signing.bitbucket_cloud(signing.bitbucket_cloud_push("acme/widgets"), s)),
        (
            "bitbucket",
            lambda s: signing.bitbucket_server(
                signing.bitbucket_server_push("https://bb.example.com/scm/acme/widgets.git"), s
            ),
        ),
        ("gitea", lambda s: signing.gitea(signing.github_push("https://gitea.example.com/acme/widgets.git"), s)),
        (
            "gitea",
            lambda s: signing.gitea(signing.github_push("https://gitea.example.com/acme/widgets.git"), s, forgejo=True),
        ),
        (
            "azure-devops",
            lambda s: signing.azure(signing.azure_push("https://dev.azure.com/acme/widgets/_git/widgets"), s),
        ),
    ],
    ids=["github", "bitbucket-cloud", "bitbucket-server", "gitea", "forgejo", "azure-devops"],
)
def test_wrong_or_missing_signature_is_401_and_records_nothing(hooks: FlaskClient, endpoint: str, delivery) -> None:
    body, headers = delivery("not-the-secret")
    assert hooks.post(f"/hooks/{endpoint}", data=body, headers=headers).status_code == 401
    unsigned = {k: v for k, v in headers.items() if "Signature" not in k and k != "Authorization"}
    r = hooks.post(f"/hooks/{endpoint}", data=body, headers=unsigned)
    assert r.status_code in (400, 401) and "error" in r.json
    body, headers = delivery(SECRET)
    assert hooks.post(f"/hooks/{endpoint}", data=body, headers=headers).status_code == 202
    assert jobs(hooks) == []  # none of these repositories is managed here


def test_unmanaged_repository_is_ignored(hooks: FlaskClient) -> None:
    r = post(hooks, "github", signing.github(signing.github_push("https://github.com/other/thing.git"), SECRET))
    assert r.status_code == 202 and "not a remote of any managed repo" in r.json["ignored"]


def test_bitbucket_cloud_matches_on_full_name(hooks: FlaskClient) -> None:
    client = hooks
    assert (
        client.post(
            "/api/v1/repos/acme/widgets/remotes",
            json={"name": "bb", "url": "git@bitbucket.org:acme/widgets.git"},
            headers=AUTH,
        ).status_code
        == 201
    )
    r = post(client, "bitbucket", signing.bitbucket_cloud(signing.bitbucket_cloud_push("Acme/Widgets"), SECRET))
    assert r.status_code == 202, r.json
    assert [client.get(f"/api/v1/jobs/{i}", headers=AUTH).json["params"]["remote"] for i in r.json["jobs"]] == ["bb"]


def test_ping_and_other_events(hooks: FlaskClient) -> None:
    r = post(
        hooks,
        "github",
        signing.github(
            {"zen": "hi", "hook_id": 1, "repository": {"full_name": "acme/widgets", "clone_url": GH_URL}},
            SECRET,
            event="ping",
        ),
    )
    assert r.status_code == 200
    r = post(
        hooks,
        "github",
        signing.github({"repository": {"full_name": "acme/widgets", "clone_url": GH_URL}}, SECRET, event="issues"),
    )
    assert r.status_code == 202 and "issues" in r.json["ignored"]


def test_branch_deletion_still_fetches_so_the_clone_prunes(hooks: FlaskClient) -> None:
    push = signing.github_push(GH_URL, ref="refs/heads/gone", after=signing.ZERO)
    assert post(hooks, "github", signing.github(push, SECRET)).status_code == 202
    assert len(jobs(hooks)) == 1


@pytest.mark.parametrize("body", [b"{bad", b"[]", b'"x"', b'{"repository": 5}'])
def test_malformed_bodies_are_400(hooks: FlaskClient, body: bytes) -> None:
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "x",
        "X-Hub-Signature-256": "sha256=" + signing.hmac_hex(SECRET, body),
    }
    r = hooks.post("/hooks/github", data=body, headers=headers)
    assert r.status_code == 400 and r.json["error"]["code"]


def test_oversized_body_is_413(tmp_path: Path) -> None:
    settings = load_settings(
        {"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_WEBHOOK_SECRET": SECRET, "GITFERRY_MAX_BODY_BYTES": "2048"}
    )
    client = create_app(settings).test_client()
    body, headers = signing.github({**signing.github_push(GH_URL), "pad": "x" * 4096}, SECRET)
    r = client.post("/hooks/github", data=body, headers=headers)
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_without_any_secret_webhooks_are_refused(tmp_path: Path) -> None:
    client = create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path)})).test_client()
    r = post(client, "github", signing.github(signing.github_push(GH_URL), ""))
    assert r.status_code == 401


def test_unknown_endpoint_is_404(hooks: FlaskClient) -> None:
    assert hooks.post("/hooks/sourceforge", data=b"{}").status_code == 404


def test_webhook_secret_of_a_forge_added_through_the_api(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "GITFERRY_DATA_DIR": str(tmp_path),
            "GITFERRY_ADMIN_TOKEN": ADMIN,
            "GITFERRY_SECRET_KEY": "a-secret-key-for-tests",
        }
    )
    client = create_app(settings).test_client()
    forge = {
        "kind": "gitea",
        "host": "git.example.org",
        "api_url": "https://git.example.org",
        "webhook_secret": "stored-secret",
    }
    assert client.post("/api/v1/forges", json=forge, headers=AUTH).status_code == 201
    push = signing.github_push("https://git.example.org/acme/widgets.git")
    assert post(client, "gitea", signing.gitea(push, "another-secret")).status_code == 401
    r = post(client, "gitea", signing.gitea(push, "stored-secret"))
    assert r.status_code == 202 and "ignored" in r.json


def test_flask_route_answers_as_the_intake_in_front_of_it(hook_app: Flask) -> None:
    """The intake answers POST /hooks/* before Flask; Flask's own rule must answer alike wherever
    the app is served without it."""
    delivery = signing.github(signing.github_push(GH_URL), SECRET, delivery="d-flask")
    bad = signing.github(signing.github_push(GH_URL), "wrong", delivery="d-bad")
    fronted = hook_app.test_client()
    answers = [post(fronted, "github", delivery), post(fronted, "github", bad)]
    hook_app.wsgi_app = hook_app.wsgi_app.flask  # type: ignore[attr-defined]
    plain = hook_app.test_client()
    for first, again in zip(answers, [post(plain, "github", delivery), post(plain, "github", bad)], strict=True):
        assert (again.status_code, again.json, again.content_type) == (first.status_code, first.json,
                                                                      "application/json")
    assert [a.status_code for a in answers] == [202, 401]


def test_other_methods_on_a_hook_are_405_json(hooks: FlaskClient) -> None:
    r = hooks.get("/hooks/github")
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]


@pytest.mark.parametrize(("failure", "status", "code"), [
    (OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly")), 503,
     "database_unavailable"),
    (KeyError("a bug"), 500, "internal"),
])
def test_a_delivery_that_fails_on_our_side_is_answered_in_json(hook_app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                               failure: Exception, status: int, code: str) -> None:
    def fails(*_args: object, **_kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(hook_app.extensions["gitferry"].store.deliveries, "record", fails)
    r = post(hook_app.test_client(), "github", signing.github(signing.github_push(GH_URL), SECRET))
    assert (r.status_code, r.json["error"]["code"], r.content_type) == (status, code, "application/json")
    assert "a bug" not in r.text and "Traceback" not in r.text
    assert r.headers.get("Retry-After") == ("1" if status == 503 else None)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_limit_is_413_whether_or_not_its_length_is_sent(tmp_path: Path, chunked: bool) -> None:
    settings = load_settings(
        {"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_WEBHOOK_SECRET": SECRET, "GITFERRY_MAX_BODY_BYTES": "2048"}
    )
    client = create_app(settings).test_client()
    for size, status in ((2048, 400), (2049, 413), (50_000, 413)):  # at the limit: read whole (and refused as JSON)
        body = b"[" * size
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": f"d-{size}",
                   "X-Hub-Signature-256": "sha256=" + signing.hmac_hex(SECRET, body)}
        if chunked:  # as gunicorn hands on a chunked body: no length, the stream ends where the body does
            r = client.post("/hooks/github", input_stream=io.BytesIO(body),
                            headers={**headers, "Transfer-Encoding": "chunked"},
                            environ_overrides={"wsgi.input_terminated": True})
        else:
            r = client.post("/hooks/github", data=body, headers=headers)
        assert (r.status_code, r.json["error"]["code"]) == (status, "too_large" if status == 413 else "bad_json")


# --- what nobody may make of a delivery: verify first, parse after, and no 500 from any body -----

def test_an_unverified_delivery_is_never_parsed_however_large(hook_app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """A wrong signature costs reading the body and one HMAC per secret: no JSON parse, no driver."""
    from service.web import hooks as hooks_module

    def no_parse(*_args: object) -> None:
        raise AssertionError("an unverified delivery reached the parser")

    monkeypatch.setattr(hooks_module, "_parsed", no_parse)
    body = b'{"commits": [' + b'{"message": "' + b"x" * 1000 + b'"},' * 8000 + b"{}]}"
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "big", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    started = time.process_time()
    r = hook_app.test_client().post("/hooks/github", data=body, headers=headers)
    assert r.status_code == 401 and r.json["error"]["code"] == "bad_signature"
    assert time.process_time() - started < 0.5, "an unverified delivery cost more than reading and one HMAC"
    for endpoint, delivery in [("gitlab", signing.gitlab({"object_kind": []}, "wrong-token")),
                               ("bitbucket", signing.bitbucket_cloud({"push": {"changes": [{"new": {"type": []}}]}},
                                                                     "wrong-secret"))]:
        assert post(hook_app.test_client(), endpoint, delivery).status_code == 401


@pytest.mark.parametrize("endpoint, delivery", [
    ("gitlab", signing.gitlab({"object_kind": []}, GITLAB_SECRET, event="System Hook")),
    ("gitlab", signing.gitlab({"event_name": {"a": 1}, "object_kind": "push"}, GITLAB_SECRET, event="System Hook")),
    ("bitbucket", signing.bitbucket_cloud({"push": {"changes": [{"new": {"type": [], "name": {}}}]},
                                           "repository": {"full_name": "acme/widgets"}}, SECRET)),
    ("github", signing.github({"ref": [], "before": {}, "after": None, "repository": []}, SECRET)),
    ("github", signing.github(signing.github_push("https://github.com/acme/\ud800.git"), SECRET)),
    ("github", signing.github(signing.github_push("https://github.com/acme/a\x00b.git"), SECRET)),
    ("github", signing.github(signing.github_push(GH_URL), SECRET, event="x" * 101)),
])
def test_a_verified_body_no_forge_would_send_is_a_400_and_records_nothing(hooks: FlaskClient, endpoint: str,
                                                                          delivery: tuple[bytes, dict]) -> None:
    r = post(hooks, endpoint, delivery)
    assert r.status_code == 400 and r.json["error"]["code"] in ("bad_payload", "bad_event", "bad_json"), r.json
    assert jobs(hooks) == []


def test_a_url_no_parser_can_read_is_a_repository_nobody_manages(hooks: FlaskClient) -> None:
    push = signing.gitlab_push(GL_URL, "acme/widgets")
    push["project"]["web_url"] = "https://[x"
    push["project"]["git_http_url"] = "https://[::1/x.git"
    # (no host can be read from it, so the global secret is the one it must be signed with)
    r = post(hooks, "gitlab", signing.gitlab(push, SECRET))
    assert r.status_code == 202 and "not a remote" in r.json["ignored"]


def test_a_delivery_signed_with_another_forges_secret_is_refused(hooks: FlaskClient) -> None:
    """The secret must be the one of the forge the repository lives on (here: GitHub, the global one)."""
    r = post(hooks, "github", signing.github(signing.github_push(GH_URL), GITLAB_SECRET))
    assert r.status_code == 401 and r.json["error"]["code"] == "bad_signature"
    assert jobs(hooks) == []
