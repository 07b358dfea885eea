"""Fetch jobs run by a worker against real remotes: a failing remote leaves the repo ready and
says so, a repo cloned empty learns its default branch, a scheduled fetch leaves out the remotes
the scheduler found backing off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.domain.records import Job, Remote, Repo
from service.jobs import JobQueue, make_celery, open_store
from service.settings import load_settings
from service.store import Store
from service.web.views import repo_view
from tests.support.repos import file_url, init_forge, make_commit, push, work_clone
from workers.tasks.context import WorkerContext
from workers.tasks.run import run_job


class Worker:
    """A store and a worker's context on temporary folders; runs jobs as the worker would."""

    def __init__(self, tmp: Path, store: Store, ctx: WorkerContext):
        self.tmp, self.store, self.ctx = tmp, store, ctx

    def add_repo(self, url: str) -> Repo:
        repo = self.store.repos.create("acme/widgets", url, pull_strategy=None, fetch_interval=None,
                                       protected_branches=[])
        assert self.run(repo, "clone", {}).state == "done"
        return self.repo()

    def repo(self) -> Repo:
        found = self.store.repos.by_name("acme/widgets")
        assert found is not None
        return found

    def remote(self, name: str) -> Remote:
        found = self.store.repos.remote(self.repo().id, name)
        assert found is not None
        return found

    def run(self, repo: Repo, kind: str, params: dict[str, Any], trigger: str = "api") -> Job:
        job, _ = self.store.jobs.add(repo, kind, trigger, params)
        run_job(self.ctx, job.id)
        ended = self.store.jobs.get(job.id)
        assert ended is not None
        return ended

    def fetch(self, **params: Any) -> Job:
        trigger = params.pop("trigger", "api")
        return self.run(self.repo(), "fetch", {"remote": None, "prune": True, **params}, trigger)

    def view(self) -> dict[str, Any]:
        repo = self.repo()
        return repo_view(repo, self.store.repos.remotes(repo.id), lambda url: "other", pull_strategy="ff-or-merge",
                         fetch_interval=60, admin=True)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ALLOW_LOCAL_REMOTES": "1"})
    store = open_store(settings)
    store.upgrade()
    try:
        yield Worker(tmp_path, store, WorkerContext(settings, store, JobQueue(make_celery(settings), store, settings)))
    finally:
        store.close()


def forge_with_commit(tmp: Path, name: str) -> tuple[Path, Path]:
    bare = init_forge(tmp / f"{name}.git")
    work = work_clone(bare, tmp / f"{name}-work")
    make_commit(work, "README", "hello\n", "first", branch="main")
    push(work, "main")
    return bare, work


def test_a_failed_fetch_leaves_the_repo_ready_and_says_which_remote_fails(worker: Worker) -> None:
    bare, work = forge_with_commit(worker.tmp, "forge")
    worker.add_repo(file_url(bare))
    cloned = worker.remote("origin")
    assert cloned.last_success_at is not None and cloned.last_error_code is None  # the clone fetched it
    fetched_at = worker.repo().last_fetch_at

    bare.rename(worker.tmp / "moved.git")  # the remote repository is gone
    job = worker.fetch()
    assert (job.state, job.error_code) == ("failed", "not_found"), job
    assert job.result["remotes"]["origin"]["error"]["code"] == "not_found"  # type: ignore[index]
    repo, origin = worker.repo(), worker.remote("origin")
    assert (repo.state, repo.error, repo.last_fetch_at) == ("ready", None, fetched_at)
    assert (origin.last_error_code, origin.fetch_failures, origin.last_success_at) == (
        "not_found", 1, cloned.last_success_at)
    assert origin.last_attempt_at is not None and origin.last_attempt_at > cloned.last_success_at  # type: ignore[operator]
    view = worker.view()
    assert (view["state"], view["failing_remotes"]) == ("ready", ["origin"])
    assert view["remotes"][0]["last_error"]["code"] == "not_found"
    assert view["remotes"][0]["backing_off"] is False  # once is not yet "keeps failing"

    (worker.tmp / "moved.git").rename(bare)
    sha = make_commit(work, "a.txt", "a\n", "second", branch="main")
    push(work, "main")
    job = worker.fetch()
    assert job.state == "done" and [m["new"] for m in job.result["remotes"]["origin"]["updated"]] == [sha]  # type: ignore[index]
    repo, origin = worker.repo(), worker.remote("origin")
    assert (origin.last_error_code, origin.fetch_failures, origin.last_success_at) == (
        None, 0, origin.last_attempt_at)
    assert repo.last_fetch_at is not None and repo.last_fetch_at > fetched_at  # type: ignore[operator]
    assert worker.view()["failing_remotes"] == []


def test_a_repo_cloned_empty_learns_its_default_branch_from_a_later_fetch(worker: Worker) -> None:
    bare = init_forge(worker.tmp / "empty.git", default_branch="trunk")
    repo = worker.add_repo(file_url(bare))
    assert (repo.state, repo.default_branch) == ("ready", None)

    work = work_clone(bare, worker.tmp / "work")
    sha = make_commit(work, "a.txt", "a\n", "first", branch="trunk")
    push(work, "trunk")
    job = worker.fetch()
    assert job.state == "done", job
    assert job.result["remotes"]["origin"] == {  # type: ignore[index]
        "updated": [{"ref": "refs/heads/trunk", "old": None, "new": sha}], "deleted": [], "default_branch": "trunk"}
    assert worker.repo().default_branch == "trunk"
    branches = worker.store.repos.refs(repo.id)["branches"]
    assert [(b["name"], b["sha"], b["upstream"]) for b in branches] == [("trunk", sha, "origin/trunk")]


def test_a_scheduled_fetch_leaves_out_the_remotes_it_was_told_to_skip(worker: Worker) -> None:
    bare, _ = forge_with_commit(worker.tmp, "forge")
    repo = worker.add_repo(file_url(bare))
    fork, _ = forge_with_commit(worker.tmp, "fork")
    worker.store.repos.add_remote(repo.id, "fork", file_url(fork))

    scheduled = worker.fetch(skip=["fork"], trigger="schedule")
    assert scheduled.state == "done" and list(scheduled.result["remotes"]) == ["origin"]  # type: ignore[index]
    assert worker.remote("fork").last_attempt_at is None
    explicit = worker.fetch()
    assert list(explicit.result["remotes"]) == ["fork", "origin"]  # type: ignore[index]
    assert worker.remote("fork").last_success_at is not None
