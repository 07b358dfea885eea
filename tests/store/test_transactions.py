"""The store's transactions: all or nothing, kept connections, pipelining, group commit, reconnection."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service.domain.records import JobEnd
from service.domain.types import utcnow
from service.store import Store
from service.store.sql import Ending, Sql
from tests.store.conftest import claim, finish, new_repo
from tests.support.services import postgres_database


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
