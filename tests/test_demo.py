"""`gitferry demo`: a newcomer's first run, offline, and a second run that reuses it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.live import Api, Processes, free_port

ROOT = Path(__file__).resolve().parents[1]


def started_demo(procs: Processes) -> Api:
    """Start `gitferry demo` and sign in with the link it prints."""
    procs.start("demo", "demo", "--port", str(procs.port))
    procs.wait_healthy(timeout=60)
    link = re.findall(r"sign in at (http://\S+/dashboard/sign-in#token=(\S+))", procs.log("demo"))
    assert link, procs.log("demo")
    url, token = link[-1]
    assert url.startswith(procs.api.base)
    return Api(procs.api.base, token=token)


def branches_once_set_up(api: Api, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        listing: dict[str, Any] = api.ok("GET", "/api/v1/repos/demo/widgets/branches")
        names = {b["name"]: b for b in listing["branches"]}
        upstream = names.get("feature/login", {}).get("upstream")
        if (upstream == "bob/feature/login" and names["feature/login"]["ahead"] is not None) \
                or time.monotonic() > deadline:
            return listing
        time.sleep(0.1)


def git_counts(forge: Path, tmp_path: Path) -> tuple[int, int]:
    """What plain git says of origin's feature/login against bob's: (ahead, behind)."""
    work = tmp_path / "oracle"
    subprocess.run(["git", "clone", "-q", (forge / "origin.git").as_uri(), str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "fetch", "-q", (forge / "bob.git").as_uri(),
                    "feature/login:refs/remotes/bob/feature/login"], check=True)
    out = subprocess.run(["git", "-C", str(work), "rev-list", "--left-right", "--count",
                          "origin/feature/login...bob/feature/login"], check=True, capture_output=True, text=True)
    ahead, behind = out.stdout.split()
    return int(ahead), int(behind)


def test_demo_adds_a_repo_with_diverged_forks_and_a_second_run_reuses_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A newcomer's first run: no admin token set, so the demo prints a sign-in link.
    procs = Processes(data, {"GITFERRY_ADMIN_TOKEN": "", "GITFERRY_ALLOW_LOCAL_REMOTES": ""})
    try:
        api = started_demo(procs)
        repo = api.ok("GET", "/api/v1/repos/demo/widgets")
        assert sorted(r["name"] for r in repo["remotes"]) == ["alice", "bob", "origin"], repo
        listing = branches_once_set_up(api)
        login = next(b for b in listing["branches"] if b["name"] == "feature/login")
        main = next(b for b in listing["branches"] if b["name"] == "main")
        assert (login["upstream"], login["ahead"], login["behind"]) == \
            ("bob/feature/login", *git_counts(data / "demo-forge", tmp_path))
        assert (login["ahead"], login["behind"]) != (0, 0)
        assert main["upstream"] == "origin/main"
        remotes = {(b["remote"], b["name"]) for b in listing["remote_branches"]}
        assert {("alice", "main"), ("bob", "feature/login"), ("origin", "feature/login")} <= remotes
        tags = api.ok("GET", "/api/v1/repos/demo/widgets/tags")
        assert "v1.0" in str(tags)
        procs.stop("demo")

        again = started_demo(procs)  # a second run: same forge, repo and remotes; a new link
        jobs = again.ok("GET", "/api/v1/jobs?repo=demo/widgets")["jobs"]
        assert [j["kind"] for j in jobs].count("clone") == 1
        assert [j["kind"] for j in jobs].count("branch") == 1
        assert api.call("GET", "/api/v1/repos").status_code == 401  # the first link's token was replaced
        assert again.ok("GET", "/api/v1/repos/demo/widgets")["remotes"] == repo["remotes"]
    finally:
        procs.stop_all()


def test_a_forge_folder_that_cannot_be_made_is_said_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    done = subprocess.run([sys.executable, "-m", "service.cli", "demo", "--forge", str(tmp_path / "a-file" / "forge"),
                           "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "GITFERRY_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"gitferry: cannot make the demo forge in {tmp_path / 'a-file' / 'forge'}: "
        f"[Errno 20] Not a directory: '{tmp_path / 'a-file' / 'forge'}'"]
