"""A PostgreSQL server that accepts connections and never answers (a black-holing proxy in front
of a real one) makes store calls fail with DatabaseUnavailable within the timeouts, not hang; once
it answers again, the store works on and nothing it had recorded is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy.engine import make_url

from service.store import DatabaseUnavailable, Store
from service.store.timeouts import GRACE, TICK
from tests.support.proxy import FaultProxy
from tests.support.services import postgres_database

CONNECT, STATEMENT = 2, 1  # seconds (psycopg waits 2 s at least to connect)
SLACK = 0.75  # seconds of scheduling on a busy two-core machine
# The longest a call may take: a new connection gives up after the connect timeout, and so does
# the ping of one that sat idle (no new one is tried then: it would wait as long); one in use is
# cut off after the statement timeout and a grace second.
LIMIT = max(CONNECT, STATEMENT + GRACE) + TICK + SLACK


class Hung:
    def __init__(self, store: Store, proxy: FaultProxy):
        self.store = store
        self.proxy = proxy


@pytest.fixture
def hung() -> Iterator[Hung]:
    """A store on a fresh database, through a proxy that black-holes on demand."""
    with postgres_database() as url:
        direct = make_url(url)
        proxy = FaultProxy((direct.host or "127.0.0.1", direct.port or 5432))
        store = Store(direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                      connect_timeout=CONNECT, statement_timeout=STATEMENT)
        store.upgrade()
        try:
            yield Hung(store, proxy)
        finally:
            proxy.close()
            store.close()


def unavailable_within(seconds: float, call: object) -> float:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        call()  # type: ignore[operator]
    took = time.monotonic() - started
    assert took < seconds, took
    return took


def in_a_new_thread(call: object) -> object:
    """`call()` on a thread of its own: no kept connection, so it must connect."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()  # type: ignore[arg-type]


def test_calls_fail_within_the_timeouts_and_work_again_once_it_answers(hung: Hung) -> None:
    store = hung.store
    repo = store.repos.create("acme/widgets", "https://example.com/acme/widgets.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    hung.proxy.black_hole()
    # This thread's kept connection, just used: the watchdog cuts it off.
    assert unavailable_within(LIMIT, store.repos.all) < STATEMENT + GRACE + TICK + SLACK
    # A write on the driver's own connection (hand-written SQL, pipelined): DatabaseUnavailable too.
    unavailable_within(LIMIT, lambda: store.jobs.add(repo, "pull", "api", {}))
    # A thread with no connection of its own.
    unavailable_within(LIMIT, lambda: in_a_new_thread(store.repos.all))

    hung.proxy.relay()
    assert [r.name for r in store.repos.all()] == ["acme/widgets"]
    assert [j.id for j in in_a_new_thread(store.jobs.latest)] == [job.id]  # type: ignore[attr-defined]
    store.jobs.add(repo, "pull", "api", {})
    assert len(store.jobs.latest()) == 2


def test_a_statement_past_the_statement_timeout_is_cancelled_by_the_server(hung: Hung) -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as raised, hung.store.db.read() as conn:
        conn.exec_driver_sql("SELECT pg_sleep(5)")
    assert isinstance(raised.value.orig, psycopg.errors.QueryCanceled)  # not the watchdog's cut
    assert time.monotonic() - started < STATEMENT + GRACE
    assert hung.store.repos.all() == []


def test_deliveries_arriving_together_fail_together_when_it_does_not_answer(hung: Hung) -> None:
    """Deliveries recorded together (one statement, then group commit) all fail within about two
    rounds of the timeout, not one after another."""
    store = hung.store
    store.deliveries.record("github", "warm", "push", set(), "warming up")
    hung.proxy.black_hole()
    failed: list[float] = []
    started = time.monotonic()

    def deliver(n: int) -> None:
        with pytest.raises(DatabaseUnavailable):
            store.deliveries.record("github", f"d-{n}", "push", set(), "nothing to do")
        failed.append(time.monotonic() - started)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(failed) == 16
    assert max(failed) < 2 * LIMIT, sorted(failed)

    hung.proxy.relay()
    again = store.deliveries.record("github", "d-0", "push", set(), "nothing to do")
    assert not again.seen_before  # the failed attempt recorded nothing
