"""Running a job: its fetch's result, a busy clone waited for only once the job is claimed (its
lease kept meanwhile), a job another worker holds left alone; what a killed job left in the clone
cleared; a removed repo's lock file removed with it; the job's time limit; a job taken over by
another worker ended by that worker alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.domain.records import Job, JobEnd, JobStart, Repo
from service.domain.types import JobKind, utcnow
from service.jobs import JobQueue, make_celery, open_store
from service.settings import load_settings
from tests.engine.conftest import Forge
from tests.support.proxy import HoldingProxy
from tests.support.repos import init_forge, work_clone
from workers.git import Clone
from workers.tasks.context import WorkerContext
from workers.tasks.lock import clone_lock, lock_file
from workers.tasks.ops import OPS
from workers.tasks.run import run_job


class Setup:
    def __init__(self, forge: Forge, ctx: WorkerContext, repo: Repo):
        self.forge, self.ctx, self.repo = forge, ctx, repo
        self.store = ctx.store

    def commit(self, name: str) -> str:
        return self.forge.commit(f"{name}.txt", f"{name}\n", name)

    def fetch_job(self) -> int:
        job, _ = self.store.jobs.add(self.repo, "fetch", "api", {"remote": None, "prune": True})
        return job.id

    def job(self, job_id: int) -> Job:
        found = self.store.jobs.get(job_id)
        assert found is not None
        return found


def moved(fetched: dict[str, Any]) -> list[str]:
    """The refs a fetch result of one remote says moved."""
    return [m["ref"] for m in fetched["updated"]]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ALLOW_LOCAL_REMOTES": "1"})
    store = open_store(settings)
    store.upgrade()
    try:
        ctx = WorkerContext(settings, store, JobQueue(make_celery(settings), store, settings))
        path = init_forge(tmp_path / "forge.git")
        forge = Forge(path, work_clone(path, tmp_path / "work"), tmp_path)
        forge.commit("first.txt", "first\n", "first")
        repo = store.repos.create("acme/widgets", forge.url, pull_strategy=None, fetch_interval=None,
                                  protected_branches=[])
        made = Setup(forge, ctx, repo)
        clone_job, _ = store.jobs.add(repo, "clone", "api", {})
        run_job(ctx, clone_job.id)
        assert made.job(clone_job.id).state == "done"
        made.repo = store.repos.by_name("acme/widgets")  # type: ignore[assignment]
        yield made
    finally:
        store.close()


def test_a_fetch_job_reports_what_it_changed_and_records_the_refs(setup: Setup) -> None:
    new = setup.commit("second")
    job_id = setup.fetch_job()
    run_job(setup.ctx, job_id)
    job = setup.job(job_id)
    assert job.state == "done", job
    assert moved(job.result["remotes"]["origin"]) == ["refs/heads/main"]
    branches = {b["name"]: b for b in setup.store.repos.refs(setup.repo.id)["remote_branches"]}
    assert branches["main"]["sha"] == new


def test_a_job_on_a_busy_clone_is_claimed_before_it_waits_for_the_clone(setup: Setup) -> None:
    setup.commit("second")
    job_id = setup.fetch_job()
    with clone_lock(setup.ctx.clone_path(setup.repo.id)):  # another job holds the clone
        runner = threading.Thread(target=run_job, args=(setup.ctx, job_id))
        runner.start()
        deadline = time.monotonic() + 10
        while setup.job(job_id).state != "running":  # claimed, its lease kept, while it waits
            assert time.monotonic() < deadline, setup.job(job_id)
            time.sleep(0.02)
        time.sleep(0.2)
        assert runner.is_alive() and setup.job(job_id).state == "running"
    runner.join(30)
    job = setup.job(job_id)
    assert job.state == "done" and moved(job.result["remotes"]["origin"]) == ["refs/heads/main"], job


def test_a_job_another_worker_holds_is_left_alone(setup: Setup) -> None:
    job_id = setup.fetch_job()
    assert setup.store.jobs.start(job_id, lease=60) is not None  # another worker runs it
    run_job(setup.ctx, job_id)
    assert setup.job(job_id).state == "running"  # not run twice, nor ended by this one


def test_what_a_killed_job_left_in_the_clone_is_cleared_when_the_next_job_takes_it(setup: Setup) -> None:
    clone = setup.ctx.clone_path(setup.repo.id)
    for left in ("objects/maintenance.lock", "refs/remotes/origin/main.lock", "objects/pack/tmp_pack_Ab12",
                 "objects/00/tmp_obj_Cd34"):
        (clone / left).parent.mkdir(parents=True, exist_ok=True)
        (clone / left).write_text("")
    (clone / "objects/pack/pack-0000.keep").write_text("fetch-pack 99 on worker\n")
    new = setup.commit("second")
    job_id = setup.fetch_job()
    assert setup.store.jobs.start(job_id, lease=-1) is not None  # its worker died: it runs again
    run_job(setup.ctx, job_id)
    assert (setup.job(job_id).state, setup.job(job_id).attempts) == ("done", 2)
    assert moved(setup.job(job_id).result["remotes"]["origin"]) == ["refs/heads/main"]
    assert {b["name"]: b["sha"] for b in setup.store.repos.refs(setup.repo.id)["remote_branches"]}["main"] == new
    assert not [p for p in clone.rglob("*") if p.name.endswith((".lock", ".keep")) or p.name.startswith("tmp_")]


def test_a_removed_repo_leaves_neither_its_clone_nor_its_lock_file(setup: Setup) -> None:
    clone = setup.ctx.clone_path(setup.repo.id)
    assert clone.exists() and lock_file(clone).exists()
    setup.store.repos.delete(setup.repo.id)
    job, _ = setup.store.jobs.add(setup.repo, JobKind.REMOVE, "api", {})
    run_job(setup.ctx, job.id)
    assert setup.job(job.id).state == "done"
    assert not clone.exists() and not lock_file(clone).exists()
    assert list(clone.parent.iterdir()) == []


def test_a_fetch_of_stalled_remotes_fails_at_the_jobs_time_limit(setup: Setup) -> None:
    """Each stalled remote alone may take GITFERRY_GIT_TIMEOUT; the job as a whole is stopped at
    GITFERRY_JOB_TIMEOUT, and the remotes it had no time for are not started."""
    stalled = HoldingProxy(("127.0.0.1", 9))  # accepts, and answers nothing
    try:
        for name in ("stalled1", "stalled2", "stalled3"):
            setup.store.repos.add_remote(setup.repo.id, name, f"http://127.0.0.1:{stalled.port}/{name}.git")
        old = setup.forge.sha("refs/heads/main")
        new = setup.commit("second")
        ctx = replace(setup.ctx, settings=setup.ctx.settings.with_(job_timeout=2.0, git_timeout=60.0))
        job_id = setup.fetch_job()
        started = time.monotonic()
        run_job(ctx, job_id)
        assert time.monotonic() - started < 10
    finally:
        stalled.close()
    job = setup.job(job_id)
    assert (job.state, job.error_code) == ("failed", "job_timeout"), job
    assert job.result["remotes"] == {
        "origin": {"updated": [{"ref": "refs/heads/main", "old": old, "new": new}], "deleted": [],
                   "default_branch": "main"},
        "stalled1": {"error": {"code": "job_timeout", "message": "the job ran out of time: git fetch was stopped"}},
    }
    branches = {b["name"]: b["sha"] for b in setup.store.repos.refs(setup.repo.id)["remote_branches"]}
    assert branches["main"] == new  # what it fetched in time is recorded


def test_a_job_taken_over_while_it_ran_leaves_its_outcome_to_the_new_owner(
        setup: Setup, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    job_id = setup.fetch_job()
    taken: list[JobStart] = []
    fetch = OPS[JobKind.FETCH]

    def paused_then_taken_over(ctx: WorkerContext, start: JobStart, clone: Clone, progress: Any) -> Any:
        outcome = fetch(ctx, start, clone, progress)
        # The worker stalls past its lease (its renewals lost); another worker claims the job.
        with setup.store.db.write() as conn:
            conn.execute(text("UPDATE jobs SET lease_until = :past WHERE id = :id"),
                         {"past": (utcnow() - timedelta(seconds=1)).replace(tzinfo=None), "id": job_id})
        taken.append(setup.store.jobs.start(job_id, lease=60))  # type: ignore[arg-type]
        return outcome

    monkeypatch.setitem(OPS, JobKind.FETCH, paused_then_taken_over)
    run_job(setup.ctx, job_id)
    job = setup.job(job_id)
    assert (job.state, job.owner, job.result) == ("running", taken[0].job.owner, None)
    assert "job_end_not_recorded" in caplog.text
    ended = setup.store.jobs.end(JobEnd(taken[0].job, taken[0].repo, {"remotes": {}}))
    assert ended is not None and setup.job(job_id).result == {"remotes": {}}
