"""The store on SQLite and on PostgreSQL: migrations, coalescing, leases, schedule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.domain.records import Job, JobEnd, Repo
from service.domain.types import fetch_coalesce_key, utcnow
from service.store import NameTaken, Store
from service.store.sql import Ending, Sql
from service.store.tables import jobs, metadata
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


def test_migrations_create_exactly_the_tables(store: Store) -> None:
    with store.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    store.upgrade()  # applying again changes nothing


def test_repo_names_are_unique_and_origin_is_recorded(store: Store) -> None:
    repo = new_repo(store)
    assert [r.name for r in store.repos.remotes(repo.id)] == ["origin"]
    with pytest.raises(NameTaken):
        new_repo(store)
    with pytest.raises(NameTaken):
        store.repos.add_remote(repo.id, "origin", "https://example.com/x.git")


def test_queued_fetches_coalesce_until_claimed(store: Store) -> None:
    repo = new_repo(store)
    first, new = store.jobs.add(repo, "fetch", "api", {"remote": None}, coalesce_key="fetch:1:*")
    again, joined = store.jobs.add(repo, "fetch", "webhook", {"remote": None}, coalesce_key="fetch:1:*")
    assert new and not joined and again.id == first.id
    assert claim(store, first.id).state == "running"
    # once running, a new request needs a new fetch: the running one may have missed its commits
    later, new = store.jobs.add(repo, "fetch", "api", {"remote": None}, coalesce_key="fetch:1:*")
    assert new and later.id != first.id


def test_a_fetch_of_a_repo_named_is_recorded_with_it_and_joins_the_same_queued_fetches(store: Store) -> None:
    """JobStore.add_fetch_of reads the repo and adds its job in one go: the job is keyed as every
    other fetch of every remote (webhooks, the schedule), so they join each other."""
    repo = new_repo(store)
    new_repo(store, "acme/other")
    key = fetch_coalesce_key(repo.id, None)

    def fetch_of(name: str, prune: bool = True) -> tuple[Repo, Job, bool]:
        recorded = store.jobs.add_fetch_of(name, "api", {"remote": None, "prune": prune}, coalesce=prune)
        assert recorded is not None
        return recorded

    found, job, new = fetch_of("acme/widgets")
    assert new and found == store.repos.by_name("acme/widgets")
    assert (job.repo_id, job.repo, job.kind, job.state, job.trigger, job.coalesce_key) == \
        (repo.id, "acme/widgets", "fetch", "queued", "api", key)
    assert job.params == {"remote": None, "prune": True}
    hook, joined = store.jobs.add(repo, "fetch", "webhook", {"remote": None}, coalesce_key=key)
    assert not joined and hook.id == job.id
    _, again, new = fetch_of("acme/widgets")
    assert not new and again.id == job.id
    _, unkeyed, new = fetch_of("acme/widgets", prune=False)
    assert new and unkeyed.id != job.id and unkeyed.coalesce_key is None
    assert store.jobs.add_fetch_of("acme/nothing", "api", {"remote": None, "prune": True}, coalesce=True) is None
    assert [j.repo for j in store.jobs.latest(limit=10)] == ["acme/widgets", "acme/widgets"]


def test_claim_is_exclusive_until_the_lease_expires(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    first = claim(store, job.id)
    assert first is not None
    assert claim(store, job.id) is None
    assert claim(store, job.id, lease=-1) is None  # still held
    assert store.jobs.renew(job.id, first.owner, lease=-5)  # the worker died: its lease ran out
    assert (job.id, repo.id) in store.jobs.needing_send(utcnow(), lease=10)
    again = claim(store, job.id)
    assert again is not None and again.attempts == 2 and again.owner != first.owner
    finish(store, again, {"ok": True})
    assert claim(store, job.id) is None
    assert store.jobs.get(job.id).result == {"ok": True}


def test_unsent_jobs_are_found_for_resending(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    assert store.jobs.needing_send(utcnow(), lease=10) == []  # most likely waiting for a worker
    later = utcnow() + timedelta(seconds=11)
    assert store.jobs.needing_send(later, lease=10) == [(job.id, repo.id)]
    store.jobs.mark_resent([job.id], later, lease=10)
    assert store.jobs.needing_send(later + timedelta(seconds=15), lease=10) == []  # two leases on
    assert store.jobs.needing_send(later + timedelta(seconds=21), lease=10) == [(job.id, repo.id)]
    claimed = claim(store, job.id)  # a worker took it after all
    assert (claimed.resends, claimed.resend_at) == (1, None)
    store.jobs.mark_resent([job.id], utcnow(), lease=10)  # a re-send that crossed the claim
    assert store.jobs.get(job.id).resend_at is None  # due again as soon as its lease runs out
    unsent, _ = store.jobs.add(repo, "pull", "api", {})
    store.jobs.send_failed(unsent.id)  # its first send: due at the sweeper's next look
    assert store.jobs.needing_send(utcnow(), lease=10) == [(unsent.id, repo.id)]


def test_deleting_a_repo_fails_its_queued_jobs(store: Store) -> None:
    repo = new_repo(store)
    queued, _ = store.jobs.add(repo, "fetch", "api", {})
    running, _ = store.jobs.add(repo, "pull", "api", {})
    claim(store, running.id)
    assert store.jobs.fail_queued(repo.id, "repo_deleted", "the repo was deleted") == [queued.id]
    store.repos.delete(repo.id)
    assert store.jobs.get(queued.id).error_code == "repo_deleted"
    assert store.jobs.get(running.id).state == "running"
    assert store.repos.by_name("acme/widgets") is None


def test_auto_fetch_schedule_spreads_and_advances(store: Store) -> None:
    repo = new_repo(store)
    store.repos.update(repo.id, state="ready")
    now = utcnow()
    assert store.repos.due_for_fetch(now, default_interval=60) == []  # first sight: gets a slot
    slot = store.repos.get(repo.id).next_fetch_at
    assert now <= slot <= now + timedelta(seconds=60)
    due = store.repos.due_for_fetch(slot, default_interval=60)
    assert [(r.id, interval) for r, interval in due] == [(repo.id, 60)]
    assert store.repos.advance_schedule(due[0][0], 60, slot)
    assert not store.repos.advance_schedule(due[0][0], 60, slot)  # a second scheduler loses
    assert store.repos.get(repo.id).next_fetch_at == slot + timedelta(seconds=60)
    store.repos.update(repo.id, fetch_interval=0)
    assert store.repos.due_for_fetch(slot + timedelta(days=1), default_interval=60) == []


def test_tokens_are_stored_hashed(store: Store) -> None:
    token = store.tokens.create("bot", "write")
    assert store.tokens.scope_of(token) == "write"
    assert store.tokens.scope_of(token + "x") is None
    with store.db.read() as conn:
        assert token not in str(conn.exec_driver_sql("SELECT * FROM tokens").fetchall())
    assert store.tokens.delete("bot") and store.tokens.scope_of(token) is None


def test_store_calls_inside_one_transaction_commit_or_roll_back_together(store: Store) -> None:
    repo = new_repo(store)
    with pytest.raises(RuntimeError, match="boom"), store.db.write():
        job, _ = store.jobs.add(repo, "fetch", "api", {})
        assert claim(store, job.id).state == "running"  # sees its own write
        raise RuntimeError("boom")
    assert store.jobs.latest() == []

    with store.db.write():
        job, _ = store.jobs.add(repo, "fetch", "api", {})
        store.repos.update(repo.id, last_fetch_at=utcnow())
    assert store.jobs.get(job.id).state == "queued"
    assert store.repos.get(repo.id).last_fetch_at is not None

    with pytest.raises(RuntimeError, match="a write inside a read"), store.db.read():
        store.repos.update(repo.id, error="x")
    assert store.repos.get(repo.id).error is None


def test_a_threads_kept_connection_serves_reads_and_writes_alike() -> None:
    """Each thread keeps one PostgreSQL connection: a read, then a write transaction that fails
    (rolled back whole), then one that succeeds, then a failed statement (the connection is let
    go), then a write on a new one."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        try:
            repo = new_repo(store)
            assert store.repos.by_name("acme/widgets").id == repo.id
            with pytest.raises(RuntimeError, match="boom"), store.db.write():
                store.jobs.add(repo, "fetch", "api", {})
                raise RuntimeError("boom")
            assert store.jobs.latest() == []
            with store.db.write() as conn:
                conn.execute(text("UPDATE repos SET error = 'seen inside'"))
                assert store.repos.get(repo.id).error == "seen inside"  # its own write
                store.jobs.add(repo, "fetch", "api", {})
            assert len(store.jobs.latest()) == 1
            with pytest.raises(ProgrammingError), store.db.write() as conn:
                conn.execute(text("SELECT * FROM no_such_table"))
            assert len(store.jobs.latest()) == 1  # the failed connection was let go; the next works
            store.jobs.add(repo, "pull", "api", {})
            assert len(store.jobs.latest()) == 2
        finally:
            store.close()


def test_batches_from_any_thread_reach_one_server_process() -> None:
    """write_batch() is the process's one connection whichever thread asks (a Batcher's
    batches, led by any thread); write() is the thread's own. A batch connection that saw an
    error is let go and the next batch gets a new one."""
    import threading

    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    with postgres_database() as url:
        store = Store(url)
        try:
            def backend(batch: bool) -> int:
                with store.db.write_batch() if batch else store.db.write() as conn:
                    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

            def in_two_threads(batch: bool) -> list[int]:
                """Each thread asks in turn, and is still there when the other asks."""
                got: list[int] = []
                done, finish = threading.Event(), threading.Event()

                def ask() -> None:
                    got.append(backend(batch))
                    done.set()
                    finish.wait(5)

                threads = [threading.Thread(target=ask) for _ in range(2)]
                for thread in threads:
                    done.clear()
                    thread.start()
                    assert done.wait(5)
                finish.set()
                for thread in threads:
                    thread.join()
                return got

            own, batched = in_two_threads(False), in_two_threads(True)
            assert own[0] != own[1]
            assert batched[0] == batched[1]
            with pytest.raises(ProgrammingError), store.db.write_batch() as conn:
                conn.execute(text("SELECT * FROM no_such_table"))
            assert backend(True) not in batched
        finally:
            store.close()


def test_claim_returns_the_running_job_once(store: Store) -> None:
    job, _ = store.jobs.add(new_repo(store), "fetch", "api", {"remote": None})
    claimed = claim(store, job.id, lease=60)
    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.attempts, claimed.params) == (
        job.id, "running", 1, {"remote": None})
    assert claimed.started_at is not None
    assert claim(store, job.id, lease=60) is None


def test_a_delivery_queues_joins_and_debounces_fetches_of_the_remotes_it_names(store: Store) -> None:
    repo = new_repo(store)
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    first = store.deliveries.record("github", "d-1", "push", {key, "other"}, None, debounce=0.5)
    (job_id,) = first.job_ids
    assert first.to_send == [(job_id, repo.id, None)]  # nothing ran lately: sent at once
    job = store.jobs.get(job_id)
    assert (job.kind, job.trigger, job.params) == ("fetch", "webhook", {"remote": "origin", "prune": True})
    assert abs(job.created_at - utcnow()) < timedelta(seconds=5)

    joined = store.deliveries.record("github", "d-2", "push", {key}, None, debounce=0.5)
    assert (joined.job_ids, joined.to_send) == ([job_id], [])
    again = store.deliveries.record("github", "d-1", "push", {key}, None, debounce=0.5)
    assert (again.job_ids, again.seen_before, again.to_send) == ([job_id], True, [])
    assert [j.id for j in store.jobs.latest()] == [job_id]  # the redelivery made nothing

    claim(store, job_id)  # running: the next fetch waits out the debounce
    late = store.deliveries.record("github", "d-1", "push", {key}, None, debounce=0.5)
    assert (late.job_ids, late.seen_before, late.to_send) == ([job_id], True, [])  # a redelivery still makes none
    assert [j.id for j in store.jobs.latest()] == [job_id]
    running = store.deliveries.record("github", "d-3", "push", {key}, None, debounce=0.5)
    (second,) = running.job_ids
    assert running.to_send == [(second, repo.id, 0.5)]
    finish(store, claim(store, second), {})  # just ended: still within the window
    assert store.deliveries.record("github", "d-4", "push", {key}, None, debounce=0.5).to_send[0][2] == 0.5
    with store.db.write() as conn:  # long ago: a push after a quiet spell goes at once
        conn.execute(jobs.update().values(finished_at=utcnow() - timedelta(seconds=5), state="done"))
    assert store.deliveries.record("github", "d-5", "push", {key}, None, debounce=0.5).to_send[0][2] is None

    unmatched = store.deliveries.record("github", "d-6", "push", {"nobody"}, None)
    assert (unmatched.job_ids, unmatched.ignored) == ([], "the repository is not a remote of any managed repo")


def test_concurrent_requests_for_the_same_work_share_one_job(store: Store) -> None:
    repo = new_repo(store)
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: store.jobs.add(repo, "fetch", "api", {}, coalesce_key="fetch:1:*"),
                             range(24)))
    assert len({job.id for job, _ in made}) == 1
    assert sum(new for _, new in made) == 1


def test_deliveries_arriving_together_are_all_recorded_once(store: Store) -> None:
    repo = new_repo(store)
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    ids = [f"d-{i % 40}" for i in range(80)]  # each delivery twice
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda d: store.deliveries.record("github", d, "push", {key}, None), ids))
    assert {tuple(a.job_ids) for a in answers} == {(answers[0].job_ids[0],)}  # all joined one fetch
    assert sum(not a.seen_before for a in answers) == 40
    assert len(store.jobs.latest()) == 1


def test_a_fetch_queued_by_another_request_mid_delivery_is_joined_and_ours_is_still_sent() -> None:
    """Two repos fetch the same URL. While a delivery is recorded, another request holds a new
    queued fetch for the second repo, uncommitted; it commits, so the delivery's own insert of
    that fetch finds it taken. The delivery is recorded once, joined to that fetch, and the fetch
    it did add for the first repo is still handed back to be sent."""
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        try:
            first = new_repo(store, "acme/first")
            second = new_repo(store, "acme/second")
            (key,) = {r.match_key for r in store.repos.remotes(first.id)}
            other = store.db.engine.connect()
            holding = other.begin()
            theirs = store.jobs.join_or_add(other, second.id, second.name, "fetch", "api", {"remote": "origin"},
                                            fetch_coalesce_key(second.id, "origin"))[0]
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(store.deliveries.record, "github", "d-1", "push", {key}, None)
                time.sleep(0.5)  # the delivery's insert now waits on the uncommitted fetch
                assert not pending.done()
                holding.commit()
                intake = pending.result(timeout=10)
            other.close()
            queued = {j.repo: j.id for j in store.jobs.latest(state="queued")}
            assert intake.job_ids == [queued["acme/first"], theirs] and queued["acme/second"] == theirs
            assert intake.to_send == [(queued["acme/first"], first.id, None)]
            again = store.deliveries.record("github", "d-1", "push", {key}, None)
            assert (again.seen_before, again.job_ids) == (True, intake.job_ids)
            assert len(store.jobs.latest()) == 2
        finally:
            store.close()


def test_starting_a_job_claims_it_once_and_reads_its_repo_remotes_and_rules(store: Store) -> None:
    repo = new_repo(store)
    store.repos.add_remote(repo.id, "fork", "https://example.com/fork/widgets.git")
    store.rules.create(repo.id, name="follow", remote="origin", branch="main", local_branch="main",
                       strategy="rebase", push_to=None, allow_force=False)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    started = store.jobs.start(job.id, lease=30)
    assert started is not None
    claimed, found = started.job, started.repo
    assert (claimed.id, claimed.state, claimed.attempts) == (job.id, "running", 1)
    assert claimed.started_at.tzinfo is not None and found is not None
    assert (found.name, found.created_at, found.protected_branches) == (repo.name, repo.created_at, [])
    assert [r.name for r in started.remotes] == ["fork", "origin"]
    assert [(r.name, r.allow_force, r.strategy) for r in started.rules] == [("follow", False, "rebase")]
    assert store.jobs.start(job.id, lease=30) is None  # taken

    orphan, _ = store.jobs.add(repo, "fetch", "api", {})
    store.repos.delete(repo.id)
    gone = store.jobs.start(orphan.id, lease=30)
    assert gone is not None and (gone.job, gone.repo, gone.remotes) == (store.jobs.get(orphan.id), None, ())


def test_a_kept_connection_pinged_after_a_pause_serves_whatever_comes_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ping after a pause finds the connection as the last call left it (in a transaction
    or in autocommit); the next call, read or write, still works on it."""
    from service.store import db as db_module

    monkeypatch.setattr(db_module, "IDLE_PING_AFTER", 0.05)
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        try:
            repo = new_repo(store)
            for kind in ("fetch", "pull"):
                with store.db.write():
                    store.jobs.add(repo, kind, "api", {})
                time.sleep(0.1)
                assert store.repos.get(repo.id).name == "acme/widgets"
                time.sleep(0.1)
            with store.db.write():
                store.jobs.add(repo, "push", "api", {})
            time.sleep(0.1)
            with store.db.write():
                store.jobs.add(repo, "sync", "api", {})
            assert sorted(j.kind for j in store.jobs.latest()) == ["fetch", "pull", "push", "sync"]
        finally:
            store.close()


def test_a_claim_that_does_not_wait_for_the_disk_is_committed_and_changes_nothing_after_it() -> None:
    from sqlalchemy import text

    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        try:
            job, _ = store.jobs.add(new_repo(store), "fetch", "api", {})
            assert store.jobs.start(job.id, lease=30) is not None
            with store.db.engine.connect() as other:  # another session sees it committed
                assert other.execute(text("SELECT state FROM jobs")).scalar() == "running"
            with store.db.read() as conn:  # the thread's own connection is back to waiting
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
            with store.db.write() as conn:
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
        finally:
            store.close()


def test_a_job_handed_over_as_json_reads_back_as_stored(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {"remote": "origin"})
    ended = finish(store, claim(store, job.id), {"origin": {"updated": ["refs/heads/main"]}}, progress={"percent": 100})
    assert ended == store.jobs.get(job.id)
    assert Job.from_wire(ended.to_wire().encode()) == ended
    assert Job.from_wire(b"not json") is None and Job.from_wire(b"[1]") is None and Job.from_wire(b"{}") is None


def test_a_write_is_all_or_nothing(store: Store) -> None:
    """A job's end goes out as one pipelined transaction on PostgreSQL: a result read on the
    way (the notification's id) still arrives, and a statement that fails undoes the rest."""
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    duplicate = Sql("INSERT INTO deliveries (forge, delivery_id, event, job_ids, received_at) "
                    "VALUES ('github', 'same', 'push', '[]', :now)")
    job = claim(store, job.id)
    with pytest.raises(Exception, match=r"(?i)unique"), store.db.write() as conn:
        store.repos.save_refs(repo.id, {"branches": [{"name": "main"}]})
        ended = finish(store, job, {"fetched": 1})
        ending = Ending(job.id, job.owner, ended.finished_at)
        assert store.notifications.add_later(ending, "https://example.com/hook")() > 0
        duplicate.run(conn, now=utcnow())
        duplicate.run(conn, now=utcnow())
    assert store.jobs.get(job.id).state == "running"
    assert store.repos.refs(repo.id)["branches"] == [] and store.notifications.for_job(job.id) == []

    with_hook = store.repos.get(repo.id)
    store.repos.update(repo.id, notify_url="https://example.com/hook")
    ended = store.jobs.end(JobEnd(job, store.repos.get(repo.id), {"fetched": 1}, refs={"branches": [{"name": "main"}]},
                                  fetched_at=utcnow()))
    assert with_hook.state == "cloning"
    done = store.jobs.get(job.id)
    assert done == ended.job
    assert (done.state, done.result, done.finished_at is not None) == ("done", {"fetched": 1}, True)
    assert store.repos.refs(repo.id)["branches"] == [{"name": "main"}]
    assert [n.id for n in store.notifications.for_job(job.id)] == [ended.notification]
    after = store.repos.get(repo.id)
    assert after.state == "ready" and after.last_fetch_at is not None


def test_without_pipeline_mode_the_same_statements_go_one_by_one(store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A libpq older than 14 has no pipeline mode: a job's start and end still work."""
    import psycopg

    monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda cls: False))
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    started = store.jobs.start(job.id, lease=30)
    assert started is not None and started.repo is not None and started.remotes[0].name == "origin"
    ended = finish(store, started.job, {"fetched": 1})
    assert ended == store.jobs.get(job.id) and ended.state == "done"


def test_work_committed_together_fails_alone(store: Store) -> None:
    """Work queued while another thread commits goes in one transaction; if one of them fails,
    the others are still committed."""
    repo = new_repo(store)

    def add_job(kind: str, fail: bool = False, pause: float = 0.0):  # type: ignore[no-untyped-def]
        def work(conn):  # type: ignore[no-untyped-def]
            time.sleep(pause)
            job_id, _ = store.jobs.join_or_add(conn, repo.id, repo.name, kind, "api", {}, None)
            if fail:
                raise ValueError("this one fails")
            return job_id
        return lambda: store.db.write_batched(work)

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(add_job("fetch", pause=0.3))
        time.sleep(0.1)  # the others queue while the first commits
        rest = [pool.submit(add_job(kind, fail=kind == "push")) for kind in ("pull", "push", "sync")]
        results = [first.result(), rest[0].result(), rest[2].result()]
        with pytest.raises(ValueError, match="this one fails"):
            rest[1].result()
    assert sorted(j.id for j in store.jobs.latest()) == sorted(results)
    assert sorted(j.kind for j in store.jobs.latest()) == ["fetch", "pull", "sync"]


def test_a_delivery_recorded_inside_a_transaction_is_part_of_it(store: Store) -> None:
    repo = new_repo(store)
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    with pytest.raises(RuntimeError, match="boom"), store.db.write():
        assert store.deliveries.record("github", "d-1", "push", {key}, None).job_ids
        raise RuntimeError("boom")
    assert store.jobs.latest() == []
    assert not store.deliveries.record("github", "d-1", "push", {key}, None).seen_before


def test_connections_the_server_dropped_while_idle_are_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL restarted (here: every connection to the database terminated) while the pool
    and the connection kept for webhook batches sat idle: the next transaction and the next
    delivery get a new connection instead of failing."""
    from sqlalchemy import create_engine, text

    from service.store import db as db_module
    from tests.support.services import POSTGRES_ADMIN

    monkeypatch.setattr(db_module, "IDLE_PING_AFTER", 0.05)
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        repo = new_repo(store)
        (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
        assert store.deliveries.record("github", "d-1", "push", {key}, None).job_ids
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :db AND pid <> pg_backend_pid()"),
                         {"db": store.db.engine.url.database})
        admin.dispose()
        time.sleep(0.1)
        assert store.repos.get(repo.id).name == "acme/widgets"
        assert store.deliveries.record("github", "d-2", "push", {key}, None).job_ids
        assert "delivery_batch_failed" not in caplog.text  # recorded by the batch statement, not by the fallback
        store.close()


def test_a_job_taken_over_has_its_outcome_written_once_by_its_new_owner(store: Store) -> None:
    """A worker whose lease ran out (a pause, a lost renewal) and whose job another worker then
    claimed can no longer renew it or end it: its end writes nothing, in the same one round trip."""
    repo = new_repo(store)
    store.repos.update(repo.id, notify_url="https://example.com/hook")
    repo = store.repos.get(repo.id)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    old = claim(store, job.id, lease=-1)  # its lease runs out at once
    new = claim(store, job.id)
    assert old is not None and new is not None and old.owner != new.owner

    assert not store.jobs.renew(job.id, old.owner, lease=30)
    late = JobEnd(old, repo, {"by": "old"}, refs={"branches": [{"name": "old"}]}, fetched_at=utcnow())
    assert store.jobs.end(late) is None
    running = store.jobs.get(job.id)
    assert (running.state, running.owner, running.result, running.lease_until is not None) == \
        ("running", new.owner, None, True)
    after = store.repos.get(repo.id)
    assert (after.state, after.last_fetch_at) == ("cloning", None)
    assert store.repos.refs(repo.id)["branches"] == [] and store.notifications.for_job(job.id) == []

    assert store.jobs.renew(job.id, new.owner, lease=30)
    ended = store.jobs.end(JobEnd(new, repo, {"by": "new"}, refs={"branches": [{"name": "new"}]},
                                  fetched_at=utcnow()))
    assert ended is not None and ended.job.result == {"by": "new"}
    assert store.jobs.end(late) is None and store.jobs.end(JobEnd(new, repo, {"by": "again"})) is None
    assert store.jobs.get(job.id).result == {"by": "new"}
    assert store.repos.refs(repo.id)["branches"] == [{"name": "new"}]
    assert [n.id for n in store.notifications.for_job(job.id)] == [ended.notification]
    assert store.repos.get(repo.id).state == "ready"
