"""gitferry scaled out over Redis and PostgreSQL with two worker shards, each on a disk of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.live import Processes
from tests.support.services import postgres_database, redis_database


@contextmanager
def two_shards(tmp_path: Path, repos: tuple[str, ...], url: str,
               env: dict[str, str] | None = None) -> Iterator[tuple[Processes, dict[int, Path]]]:
    """The web and the workers of shards 0 and 1 (their data folders by shard), with `repos` added
    from `url` in that order (repo ids 1, 2, …: odd ids on shard 1) and ready; all stopped after."""
    with redis_database() as broker, postgres_database() as database:
        procs = Processes(tmp_path / "data", {
            "GITFERRY_BROKER_URL": broker, "GITFERRY_DATABASE_URL": database, "GITFERRY_FETCH_INTERVAL": "0",
            "GITFERRY_WORKER_SHARDS": "2", **(env or {}),
        })
        procs.data_dir.mkdir()
        disks = {shard: tmp_path / f"worker{shard}" for shard in (0, 1)}
        try:
            procs.web()
            for shard, disk in disks.items():
                procs.start(f"worker{shard}", "worker", "--shard", str(shard), env={"GITFERRY_DATA_DIR": str(disk)})
            for name in repos:
                procs.api.ok("POST", "/api/v1/repos", {"name": name, "url": url}, status=201)
                procs.api.wait_repo(name)
            yield procs, disks
        finally:
            procs.stop_all()
