"""Git over HTTPS-style basic auth with the forges config's token, and the token never leaks."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Forge
from tests.support.git_http import GitHttpServer
from tests.support.live import Processes
from tests.support.repos import branch_sha

TOKEN = "s3cr3t-forge-token-4242"


def test_clone_fetch_push_with_forge_token_and_no_leak(tmp_path: Path, forge: Forge) -> None:
    with GitHttpServer(forge.bare.parent, username="oauth2", password=TOKEN) as http:
        config = tmp_path / "forges.toml"
        config.write_text(
            f'[[forges]]\nkind = "gitea"\nhost = "{http.netloc}"\n'
            f'api_url = "http://{http.netloc}"\ntoken = "{TOKEN}"\n'
        )
        procs = Processes(tmp_path / "data", {"GITFERRY_CONFIG": str(config), "GITFERRY_FETCH_INTERVAL": "0"})
        procs.data_dir.mkdir()
        try:
            procs.serve()
            api = procs.api
            url = http.url(forge.bare.name)
            api.ok("POST", "/api/v1/repos", {"name": "acme/private", "url": url}, status=201)
            repo = api.wait_repo("acme/private")
            assert repo["provider"] == "gitea"
            new = forge.commit("p.txt", "p\n", "private change")
            job = api.run("/api/v1/repos/acme/private/pull", {"branch": "main"})
            assert job["result"]["after"] == new, job
            api.ok("POST", "/api/v1/repos/acme/private/branches", {"name": "topic", "start_point": "main",
                                                                    "track": False}, status=201)
            job = api.run("/api/v1/repos/acme/private/push", {"branch": "topic"})
            assert job["result"]["outcome"] == "created", job
            assert branch_sha(forge.bare, "topic") == new
            everything = [api.call("GET", p).text for p in
                          ("/api/v1/repos", "/api/v1/jobs", "/api/v1/repos/acme/private/branches")]
        finally:
            procs.stop_all()
    assert all(TOKEN not in text for text in everything)
    leaks = [p for p in procs.data_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []


def test_without_token_the_clone_fails_with_a_clear_error(tmp_path: Path, forge: Forge, api) -> None:
    with GitHttpServer(forge.bare.parent, username="oauth2", password=TOKEN) as http:
        api.ok("POST", "/api/v1/repos", {"name": "acme/denied", "url": http.url(forge.bare.name)}, status=201)
        repo = api.wait_repo("acme/denied", state="error")
    assert "authentication" in repo["error"]
    job = api.ok("GET", "/api/v1/jobs?repo=acme/denied")["jobs"][0]
    assert (job["state"], job["error"]["code"]) == ("failed", "auth")
