"""How each remote's fetches went, recorded with the job's end, and the scheduler's choice of what
to fetch from it: remotes that keep failing with a permanent error are backed off; an explicit
fetch never joins a scheduled one that leaves remotes out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from service.domain.fetching import BACKOFF_FIRST, backing_off
from service.domain.records import JobEnd, Remote, RemoteFetch, Repo
from service.domain.types import fetch_coalesce_key, utcnow
from service.jobs import JobQueue, make_celery
from service.jobs.scheduler import queue_due_fetches
from service.settings import load_settings
from service.store import Store
from tests.store.conftest import claim, new_repo


def remote(store: Store, repo: Repo, name: str) -> Remote:
    found = store.repos.remote(repo.id, name)
    assert found is not None
    return found


def end_fetch(store: Store, repo: Repo, *fetches: RemoteFetch, fetched_at: datetime | None = None) -> bool:
    """Run a fetch job of the repo to its end with these remotes' outcomes; False if not recorded."""
    job, _ = store.jobs.add(repo, "fetch", "api", {"remote": None, "prune": True})
    running = claim(store, job.id)
    assert running is not None
    return store.jobs.end(JobEnd(running, repo, {"remotes": {}}, fetched_at=fetched_at,
                                 remote_fetches=fetches)) is not None


def test_a_jobs_end_records_each_remotes_attempt_success_and_error(store: Store) -> None:
    repo = new_repo(store)
    store.repos.add_remote(repo.id, "fork", "https://example.com/fork/widgets.git")
    t1 = utcnow().replace(microsecond=0)
    assert end_fetch(store, repo, RemoteFetch("origin", t1), RemoteFetch("fork", t1, "auth", "authentication failed"),
                     fetched_at=t1)
    origin, fork = remote(store, repo, "origin"), remote(store, repo, "fork")
    assert (origin.last_attempt_at, origin.last_success_at, origin.last_error_code, origin.fetch_failures) == (
        t1, t1, None, 0)
    assert (fork.last_attempt_at, fork.last_success_at, fork.fetch_failures) == (t1, None, 1)
    assert (fork.last_error_code, fork.last_error_message) == ("auth", "authentication failed")
    assert store.repos.get(repo.id).last_fetch_at == t1  # type: ignore[union-attr]

    t2 = t1 + timedelta(minutes=1)
    assert end_fetch(store, repo, RemoteFetch("fork", t2, "auth", "authentication failed"))  # nothing fetched
    fork = remote(store, repo, "fork")
    assert (fork.last_attempt_at, fork.fetch_failures) == (t2, 2)
    assert remote(store, repo, "origin").last_attempt_at == t1  # not tried by that job
    assert store.repos.get(repo.id).last_fetch_at == t1  # type: ignore[union-attr]

    t3 = t2 + timedelta(minutes=1)
    assert end_fetch(store, repo, RemoteFetch("fork", t3))
    fork = remote(store, repo, "fork")
    assert (fork.last_attempt_at, fork.last_success_at, fork.last_error_code, fork.last_error_message,
            fork.fetch_failures) == (t3, t3, None, None, 0)


def test_a_job_taken_over_by_another_worker_records_no_remote_status(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {"remote": None})
    first = claim(store, job.id, lease=-1)  # its lease ran out at once
    assert first is not None and claim(store, job.id) is not None  # another worker took it over
    ended = store.jobs.end(JobEnd(first, repo, {}, remote_fetches=(RemoteFetch("origin", utcnow(), "auth", "no"),)))
    assert ended is None
    assert remote(store, repo, "origin").last_attempt_at is None


@pytest.fixture
def jobs(store: Store, tmp_path: Path) -> Iterator[JobQueue]:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_FETCH_INTERVAL": "60"})
    yield JobQueue(make_celery(settings), store, settings)


def fail(store: Store, repo: Repo, name: str, code: str, times: int, at: datetime) -> None:
    for _ in range(times):
        assert end_fetch(store, repo, RemoteFetch(name, at, code, f"{code} from the remote"))


def make_due(store: Store, repo: Repo) -> None:
    store.repos.update(repo.id, next_fetch_at=utcnow() - timedelta(seconds=1))


def test_the_scheduler_leaves_out_remotes_that_keep_failing_with_a_permanent_error(store: Store,
                                                                                     jobs: JobQueue) -> None:
    repo = new_repo(store)
    store.repos.update(repo.id, state="ready")
    store.repos.add_remote(repo.id, "fork", "https://example.com/fork/widgets.git")
    now = utcnow()
    fail(store, repo, "fork", "auth", 1, now)  # once: tried again at the next turn
    make_due(store, repo)
    (job_id,) = queue_due_fetches(jobs)
    assert store.jobs.get(job_id).params == {"remote": None, "prune": True}  # type: ignore[union-attr]

    running = claim(store, job_id)  # it runs: the fork fails a second time in a row, and is backed off
    assert running is not None
    store.jobs.end(JobEnd(running, repo, {}, remote_fetches=(RemoteFetch("origin", now),
                                                             RemoteFetch("fork", now, "auth", "refused"))))
    assert backing_off(remote(store, repo, "fork"), utcnow())
    make_due(store, repo)
    (skipping,) = queue_due_fetches(jobs)
    scheduled = store.jobs.get(skipping)
    assert scheduled is not None and scheduled.params == {"remote": None, "prune": True, "skip": ["fork"]}
    assert scheduled.trigger == "schedule"
    # an explicit fetch of every remote does not join it: it tries the fork too
    added = store.jobs.add_fetch_of(repo.name, "api", {"remote": None, "prune": True}, coalesce=True)
    assert added is not None
    _, explicit, new = added
    assert new and explicit.id != skipping and explicit.coalesce_key == fetch_coalesce_key(repo.id, None)

    fail(store, repo, "origin", "not_found", 2, now)  # every remote backed off: no fetch at all
    make_due(store, repo)
    assert queue_due_fetches(jobs) == []
    assert store.repos.get(repo.id).next_fetch_at > utcnow()  # type: ignore[union-attr,operator]  # turn taken


def test_network_errors_and_an_elapsed_backoff_are_tried_at_every_turn(store: Store, jobs: JobQueue) -> None:
    repo = new_repo(store)
    store.repos.update(repo.id, state="ready")
    fail(store, repo, "origin", "network", 5, utcnow())  # passes by itself: no backoff
    make_due(store, repo)
    assert len(queue_due_fetches(jobs)) == 1
    assert end_fetch(store, repo, RemoteFetch("origin", utcnow()))  # a success ends the run of failures
    fail(store, repo, "origin", "auth", 2, utcnow() - BACKOFF_FIRST - timedelta(seconds=1))  # its wait is over
    make_due(store, repo)
    (job_id,) = queue_due_fetches(jobs)
    assert store.jobs.get(job_id).params == {"remote": None, "prune": True}  # type: ignore[union-attr]
