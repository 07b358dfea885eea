"""Web, worker and beat as separate processes over Redis and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import Processes
from tests.support.services import postgres_database, redis_database


@pytest.fixture
def scaled(tmp_path: Path) -> Iterator[Processes]:
    with redis_database() as broker, postgres_database() as database:
        procs = Processes(tmp_path / "data", {
            "GITFERRY_BROKER_URL": broker,
            "GITFERRY_DATABASE_URL": database,
            "GITFERRY_FETCH_INTERVAL": "0",
            "GITFERRY_JOB_LEASE": "3",
        })
        procs.data_dir.mkdir()
        try:
            procs.web()
            procs.start("worker", "worker")
            procs.start("beat", "beat")
            yield procs
        finally:
            procs.stop_all()
