"""Settings from the environment, the gitferry command's small subcommands, and the app factory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import SettingsError, load_settings
from service.web import create_app


def test_defaults_are_embedded(tmp_path: Path) -> None:
    s = load_settings({"GITFERRY_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/gitferry.sqlite"
    assert s.broker_url == f"sqla+sqlite:///{tmp_path}/broker.sqlite"
    assert (s.fetch_interval, s.pull_strategy, s.allow_local_remotes) == (60, "ff-or-merge", False)


@pytest.mark.parametrize(
    "env, problem",
    [
        ({"GITFERRY_FETCH_INTERVAL": "soon"}, "GITFERRY_FETCH_INTERVAL"),
        ({"GITFERRY_FETCH_INTERVAL": "-1"}, "at least 0"),
        ({"GITFERRY_PULL_STRATEGY": "squash"}, "GITFERRY_PULL_STRATEGY"),
        ({"GITFERRY_ALLOW_LOCAL_REMOTES": "maybe"}, "GITFERRY_ALLOW_LOCAL_REMOTES"),
        ({"GITFERRY_ADMIN_TOKEN": "short"}, "at least 16"),
        ({"GITFERRY_BROKER_URL": "kafka://x"}, "GITFERRY_BROKER_URL"),
        ({"GITFERRY_CONFIG": "/nonexistent/forges.toml"}, "cannot read"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        load_settings(env)


@pytest.mark.parametrize(
    "toml, problem",
    [
        ("[[forges]]\nkind = 'sourceforge'\n", "kind must be one of"),
        ("[[forges]]\nkind = 'gitlab'\nhost = 'git.example.com'\n", "needs an api_url"),
        ("[[forges]]\nkind = 'gitea'\n", "needs a host"),
        ("[[forges]]\nkind = 'github'\ngit_protocol = 'ftp'\n", "git_protocol"),
        ("forges = 3\n", "array of tables"),
        ("[[forges\n", "not valid TOML"),
    ],
)
def test_bad_forges_config_is_named(tmp_path: Path, toml: str, problem: str) -> None:
    config = tmp_path / "forges.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=problem):
        load_settings({"GITFERRY_CONFIG": str(config)})


def test_forges_config_fills_in_well_known_hosts(tmp_path: Path) -> None:
    config = tmp_path / "forges.toml"
    config.write_text(
        "[[forges]]\nkind = 'github'\ntoken = 'ghp_secretvalue'\n"
        "[[forges]]\nkind = 'gitlab'\nhost = 'Git.Example.com:8443'\napi_url = 'https://git.example.com:8443/'\n"
    )
    github, gitlab = load_settings({"GITFERRY_CONFIG": str(config)}).forges
    assert (github.host, github.api_url, github.git_username) == (
        "github.com",
        "https://api.github.com",
        "x-access-token",
    )
    assert (gitlab.host, gitlab.api_url, gitlab.git_username) == (
        "git.example.com:8443",
        "https://git.example.com:8443",
        "oauth2",
    )
    assert github.token == "ghp_secretvalue" and "ghp_secretvalue" not in repr(github)


def gitferry(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GITFERRY_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=full_env, capture_output=True, text=True, timeout=60
    )


def test_cli_refuses_bad_settings_with_a_clear_message(tmp_path: Path) -> None:
    result = gitferry(tmp_path, "db", "upgrade", GITFERRY_FETCH_INTERVAL="often")
    assert result.returncode == 2
    assert "GITFERRY_FETCH_INTERVAL" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["web", "serve"])
def test_a_port_already_taken_is_refused_with_a_clear_message(tmp_path: Path, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gitferry(tmp_path, command, "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was started or made


def test_token_create_prints_a_token_the_api_accepts(tmp_path: Path) -> None:
    assert gitferry(tmp_path, "db", "upgrade").returncode == 0
    result = gitferry(tmp_path, "token", "create", "ops", "--scope", "write")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    app = create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data")}))
    client = app.test_client()
    assert client.get("/api/v1/repos", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # write is not admin
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "x", "scope": "read"}, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 403
    )
    again = gitferry(tmp_path, "token", "create", "ops")
    assert again.returncode == 1 and "exists" in again.stderr


def test_app_factory_builds_an_app_on_given_settings(tmp_path: Path) -> None:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "factory")})
    app = create_app(settings)
    assert app.extensions["gitferry"].settings is settings
    assert (tmp_path / "factory" / "gitferry.sqlite").exists()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok" and response.json["disk_free_bytes"] > 0


def test_healthz_is_503_when_the_broker_is_down(tmp_path: Path) -> None:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_BROKER_URL": "redis://127.0.0.1:1/0"})
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 503
    assert "broker" in response.json["problems"]


def test_healthz_is_503_when_the_data_dirs_disk_is_nearly_full(tmp_path: Path) -> None:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_MIN_FREE_MB": str(2**40)})
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 503
    assert set(response.json["problems"]) == {"disk"}
    assert "bytes free in the data dir" in response.json["problems"]["disk"]
    assert response.json["disk_free_bytes"] > 0


def test_healthz_answers_in_time_when_a_check_hangs(tmp_path: Path) -> None:
    """A check that never ends is waited for DEADLINE seconds, and one thread runs it however
    often health is asked meanwhile."""
    import threading
    import time

    from service.web import health

    app = create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path)}))
    store = app.extensions["gitferry"].store
    release = threading.Event()
    store.ping = release.wait  # the database that never answers
    client = app.test_client()

    def probes() -> int:
        return sum(t.name == "gitferry-health-database" for t in threading.enumerate())

    before = probes()  # other tests' apps keep theirs
    try:
        for _ in range(3):
            started = time.monotonic()
            response = client.get("/healthz")
            assert time.monotonic() - started < health.DEADLINE + 0.5
            assert response.status_code == 503
            assert response.json["problems"] == {"database": f"database did not answer within {health.DEADLINE:g} s"}
        assert probes() == before + 1
    finally:
        release.set()
    time.sleep(0.1)
    assert client.get("/healthz").status_code == 200
