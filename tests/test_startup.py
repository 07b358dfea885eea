"""Starting up: any number of commands on a fresh database at once, and a database not up yet."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.live import free_port
from tests.support.proxy import HoldingProxy
from tests.support.services import postgres_database

ROOT = Path(__file__).resolve().parents[1]


def gitferry(tmp_path: Path, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin", "GITFERRY_DATA_DIR": str(tmp_path), **env})


def all_at_once(tmp_path: Path, count: int, env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: gitferry(tmp_path, "db", "upgrade", env=env), range(count)))


def test_commands_started_together_on_a_fresh_postgresql_database_all_come_up(tmp_path: Path) -> None:
    with postgres_database() as url:
        done = all_at_once(tmp_path, 12, {"GITFERRY_DATABASE_URL": url})
    assert [(d.returncode, d.stdout.strip()) for d in done] == [(0, "gitferry: database is up to date")] * 12, \
        next((d.stderr for d in done if d.returncode), "")


def test_commands_started_together_on_a_fresh_sqlite_file_all_come_up(tmp_path: Path) -> None:
    done = all_at_once(tmp_path, 6, {})
    assert [d.returncode for d in done] == [0] * 6, next((d.stderr for d in done if d.returncode), "")


def test_a_database_that_never_comes_up_is_given_up_on_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gitferry"
    started = time.monotonic()
    # (4 s: tries at about 0, 0.5 and 1.5 s are logged however long the start-up's imports took)
    done = gitferry(tmp_path, "db", "upgrade", env={"GITFERRY_DATABASE_URL": url, "GITFERRY_DATABASE_WAIT": "4"})
    assert done.returncode == 1 and time.monotonic() - started < 30
    assert "Traceback" not in done.stderr
    tries = [line for line in done.stderr.splitlines() if "database_unreachable" in line]
    assert len(tries) >= 2 and all("Connection refused" in line for line in tries), done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "gitferry: the database is not reachable (connection failed:"), done.stderr


def test_a_database_that_comes_up_while_a_command_waits_is_used(tmp_path: Path) -> None:
    port = free_port()
    with postgres_database() as url:
        command = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "db", "upgrade"], cwd=ROOT, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "GITFERRY_DATA_DIR": str(tmp_path),
                 "GITFERRY_DATABASE_URL": url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")})
        assert command.stderr is not None
        before = []
        while not before or "database_unreachable" not in before[-1]:  # it tried, and waits to try again
            line = command.stderr.readline()
            assert line, "".join(before)
            before.append(line)
        proxy = HoldingProxy(("127.0.0.1", 5432), port=port)
        proxy.release()
        try:
            out, err = command.communicate(timeout=60)
        finally:
            proxy.close()
    assert command.returncode == 0, err
    assert "Traceback" not in "".join(before) + err
    assert out.strip() == "gitferry: database is up to date"


def test_the_data_dir_and_its_files_are_the_users_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "gitferry.sqlite").touch(mode=0o644)  # from a version that left it readable to all
    assert gitferry(data, "db", "upgrade", env={}).returncode == 0
    assert data.stat().st_mode & 0o777 == 0o700
    modes = {p.name: p.stat().st_mode & 0o777 for p in data.glob("*.sqlite*")}
    assert "gitferry.sqlite" in modes and set(modes.values()) == {0o600}, modes
