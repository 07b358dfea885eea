"""Done-when: through a live `gitferry serve`, list forks, add one as a remote and fetch it, per forge."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.forges.conftest import TOKEN, start_fake
from tests.support.live import Processes
from tests.support.repos import commit_to

SECRET = "live-secret-key-0123456789"
# kind -> (fork to add, its default remote name, forge given through the TOML file or POST /api/v1/forges)
CASES = {
    "github": ("Eve-X/w", "eve-x", "config"),
    "gitlab": ("team/sub/widgets", "team-sub", "api"),
    "bitbucket-cloud": ("alice/widgets", "alice", "api"),
    "bitbucket-server": ("~ALICE/widgets", "alice", "config"),
}


def _toml(entry: dict[str, str]) -> str:
    return "[[forges]]\n" + "".join(f'{key} = "{value}"\n' for key, value in entry.items())


@pytest.mark.parametrize("kind", list(CASES))
def test_fork_to_remote_to_fetch(kind: str, tmp_path: Path) -> None:
    fork_name, remote, source = CASES[kind]
    setup = start_fake(kind, tmp_path / "forge")
    fake = setup.fake
    sha = commit_to(fake.root / fake.repos[fork_name].git_path, "feature", "f.txt", "fork work\n", "on the fork",
                    tmp_path / "scratch")
    env = {"GITFERRY_FETCH_INTERVAL": "0", "GITFERRY_SECRET_KEY": SECRET}
    if source == "config":
        config = tmp_path / "forges.toml"
        config.write_text(_toml(setup.entry))
        env["GITFERRY_CONFIG"] = str(config)
    procs = Processes(tmp_path / "data", env)
    procs.data_dir.mkdir()
    answers: list[str] = []
    try:
        procs.serve()
        api = procs.api
        if source == "api":
            api.ok("POST", "/api/v1/forges", setup.entry, status=201)
        api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": setup.origin_url}, status=201)
        repo = api.wait_repo("acme/widgets")
        assert repo["provider"] == ("bitbucket" if kind.startswith("bitbucket") else kind)
        forks = api.ok("GET", "/api/v1/repos/acme/widgets/forks")["forks"]
        assert sorted(f["full_name"] for f in forks) == sorted(setup.forks)
        added = api.ok("POST", "/api/v1/repos/acme/widgets/remotes", {"fork": fork_name}, status=201)
        assert added["name"] == remote and added["url"] == fake.url_of(fake.repos[fork_name])
        job = api.wait_job(added["job"]["id"])
        assert job["state"] == "done", job
        branches = api.ok("GET", "/api/v1/repos/acme/widgets/branches")
        assert {"remote": remote, "name": "feature", "sha": sha} in branches["remote_branches"]
        # git used the token: the fake refused the first, credential-less request of each git call.
        assert any(status == 401 for _, _, status in fake.requests)
        for path in ("/api/v1/repos", "/api/v1/jobs", "/api/v1/forges", "/api/v1/repos/acme/widgets/remotes"):
            answers.append(api.call("GET", path).text)
    finally:
        procs.stop_all()
        fake.stop()
    assert all(TOKEN not in text for text in answers)
    leaks = [p for p in procs.data_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert (procs.data_dir / "serve.log").stat().st_size > 0  # the scan above covered the log


def test_fetch_of_a_fork_remote_fails_without_the_forges_token(tmp_path: Path) -> None:
    setup = start_fake("gitea", tmp_path / "forge")
    procs = Processes(tmp_path / "data", {"GITFERRY_FETCH_INTERVAL": "0", "GITFERRY_SECRET_KEY": SECRET})
    procs.data_dir.mkdir()
    try:
        procs.serve()
        api = procs.api
        api.ok("POST", "/api/v1/forges", {**setup.entry, "token": ""}, status=201)
        api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": setup.origin_url}, status=201)
        repo = api.wait_repo("acme/widgets", state="error")
        assert "authentication" in repo["error"]
        # The API call fails too (the fake wants the token there as well) and says why.
        answer = api.call("GET", "/api/v1/repos/acme/widgets/forks")
        assert answer.status_code == 502 and "refused the token" in answer.json()["error"]["message"]
    finally:
        procs.stop_all()
        setup.fake.stop()
