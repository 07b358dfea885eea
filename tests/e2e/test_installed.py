"""gitferry installed as it declares itself (`pip install .`, not editable, into a clean virtualenv)
runs as web, worker and beat over Redis and PostgreSQL: nothing it needs arrives only with the
test tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import Forge
from tests.support.live import Processes
from tests.support.services import postgres_database, redis_database

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_installed_as_declared_runs_scaled_out(tmp_path: Path, forge: Forge) -> None:
    venv, source = tmp_path / "venv", tmp_path / "source"
    # A copy of what git tracks: pip builds in the folder it is given, and must leave this one alone.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                                str(source)], capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    data = tmp_path / "data"
    data.mkdir()
    with redis_database() as broker, postgres_database() as database:
        procs = Processes(data, {"GITFERRY_BROKER_URL": broker, "GITFERRY_DATABASE_URL": database,
                                 "GITFERRY_FETCH_INTERVAL": "0"}, command=[str(venv / "bin" / "gitferry")])
        try:
            procs.web()  # healthy: the database and the broker (kombu's Redis transport) answer
            procs.start("worker", "worker")
            procs.start("beat", "beat")
            api = procs.api
            api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": forge.url}, status=201)
            api.wait_repo("acme/widgets")
            new = forge.commit("a.txt", "a\n", "second")
            job = api.run("/api/v1/repos/acme/widgets/fetch", {})
            moved = [m["ref"] for m in job["result"]["remotes"]["origin"]["updated"]]
            assert (job["state"], moved) == ("done", ["refs/heads/main"])
            assert {"remote": "origin", "name": "main", "sha": new} in \
                api.ok("GET", "/api/v1/repos/acme/widgets/branches")["remote_branches"]
        finally:
            procs.stop_all()
