"""The store fixture on SQLite and on PostgreSQL, and what store tests do to jobs as a worker would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.domain.records import Job, JobEnd, Repo
from service.store import Store
from tests.support.services import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
        s.upgrade()
        yield s
        s.close()
        return
    with postgres_database() as url:
        s = Store(url)
        s.upgrade()
        yield s
        s.close()


def new_repo(store: Store, name: str = "acme/widgets") -> Repo:
    return store.repos.create(name, "https://example.com/acme/widgets.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])


def claim(store: Store, job_id: int, lease: float = 30) -> Job | None:
    """Take a job as a worker does (JobStore.start): the running job, or None if taken."""
    started = store.jobs.start(job_id, lease)
    return started.job if started else None


def finish(store: Store, job: Job, result: dict, progress: dict | None = None) -> Job:
    return store.jobs.end(JobEnd(job, None, result, progress=progress)).job
