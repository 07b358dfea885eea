"""Work from many threads handled in batches (Batcher), and webhook deliveries recorded a batch
per PostgreSQL statement."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.store import Store
from service.store.deliveries import UNMATCHED
from service.store.group_commit import Batcher, Slot
from tests.support.services import postgres_database


def test_items_queued_during_a_batch_go_together_in_the_next_and_each_thread_gets_its_own_answer() -> None:
    batches: list[list[int]] = []
    first_started = threading.Event()
    release_first = threading.Event()

    def handle(batch: list[Slot[int, int]]) -> None:
        batches.append([slot.item for slot in batch])
        if batch[0].item == 0:
            first_started.set()
            release_first.wait(5)
        for slot in batch:
            if slot.item == 3:
                slot.fail(ValueError("three is refused"))
            else:
                slot.set(slot.item * 10)

    batcher: Batcher[int, int] = Batcher(handle)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher.run, 0)
        assert first_started.wait(5)
        rest = {item: pool.submit(batcher.run, item) for item in range(1, 6)}
        time.sleep(0.2)  # all five queue behind the first batch
        release_first.set()
        assert first.result(5) == 0
        for item, future in rest.items():
            if item == 3:
                with pytest.raises(ValueError, match="three is refused"):
                    future.result(5)
            else:
                assert future.result(5) == item * 10
    assert batches[0] == [0]
    assert sorted(batches[1]) == [1, 2, 3, 4, 5] and len(batches) == 2


def test_a_batch_that_fails_as_a_whole_fails_each_of_its_items() -> None:
    def handle(batch: list[Slot[int, int]]) -> None:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        Batcher(handle).run(1)


def test_many_threads_each_get_their_own_answer_and_nobody_is_left_waiting() -> None:
    sizes: list[int] = []

    def handle(batch: list[Slot[tuple[int, int], tuple[int, int]]]) -> None:
        sizes.append(len(batch))
        time.sleep(0.0005)
        for slot in batch:
            slot.set(slot.item)

    batcher: Batcher[tuple[int, int], tuple[int, int]] = Batcher(handle)

    def many(thread: int) -> bool:
        return all(batcher.run((thread, i)) == (thread, i) for i in range(300))

    with ThreadPoolExecutor(12) as pool:
        assert all(pool.map(many, range(12), timeout=60))
    assert sum(sizes) == 12 * 300 and max(sizes) > 1


@pytest.fixture
def pg_store() -> Iterator[Store]:
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        yield store
        store.close()


def test_deliveries_recorded_in_one_statement_get_the_answers_they_would_get_alone(pg_store: Store) -> None:
    """One batch holds: two new deliveries naming the same repo (one new fetch, sent once), the
    same delivery twice, a delivery seen before, one naming no managed repo, and an event that is
    not acted on. Each is answered as record() answers it alone."""
    store = pg_store
    repo = store.repos.create("acme/widgets", "https://example.com/acme/widgets.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    earlier = store.deliveries.record("github", "seen", "push", {key}, None)
    store.jobs.start(earlier.job_ids[0], lease=30)  # running: the new fetch waits out the debounce

    batches: list[int] = []
    handle = store.deliveries._together._handle  # type: ignore[union-attr]
    hold = threading.Event()

    def counted(batch: list[Slot]) -> None:  # type: ignore[type-arg]
        batches.append(len(batch))
        if len(batches) == 1:
            hold.wait(5)  # the first batch (one delivery) holds the rest back, so they queue up
        handle(batch)

    store.deliveries._together._handle = counted  # type: ignore[union-attr]
    calls = [("d-0", "push", {"nobody"}, None), ("d-1", "push", {key}, None), ("d-2", "push", {key}, None),
             ("d-2", "push", {key}, None), ("seen", "push", {key}, None), ("d-3", "push", {"nobody"}, None),
             ("d-4", "ping", set(), "ping events are not acted on")]
    with ThreadPoolExecutor(len(calls)) as pool:
        first = pool.submit(store.deliveries.record, "github", *calls[0], debounce=0.5)
        while not batches:
            time.sleep(0.01)
        rest = [pool.submit(store.deliveries.record, "github", *call, debounce=0.5) for call in calls[1:]]
        time.sleep(0.3)
        hold.set()
        answers = [first.result(10)] + [f.result(10) for f in rest]
    assert batches[:2] == [1, len(calls) - 1]

    (fetch,) = answers[1].job_ids
    assert (answers[0].job_ids, answers[0].ignored) == ([], UNMATCHED)
    assert [a.to_send for a in answers[1:4] if a.to_send] == [[(fetch, repo.id, 0.5)]]  # sent once
    assert (answers[1].job_ids, answers[1].seen_before) == ([fetch], False)
    assert sorted((a.job_ids, a.seen_before) for a in answers[2:4]) == [([fetch], False), ([fetch], True)]
    assert (answers[4].job_ids, answers[4].seen_before) == (earlier.job_ids, True)
    assert (answers[5].job_ids, answers[5].ignored) == ([], UNMATCHED)
    assert (answers[6].job_ids, answers[6].ignored) == ([], "ping events are not acted on")
    assert sorted(j.id for j in store.jobs.latest()) == sorted([earlier.job_ids[0], fetch])
    again = store.deliveries.record("github", "d-3", "push", {"nobody"}, None)
    assert (again.seen_before, again.ignored) == (True, UNMATCHED)


def test_deliveries_whose_statement_fails_are_recorded_one_by_one(pg_store: Store, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    from service.store import deliveries

    store = pg_store
    repo = store.repos.create("acme/widgets", "https://example.com/acme/widgets.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    failing = deliveries.Sql("SELECT * FROM no_such_table WHERE :batch IS NULL")
    monkeypatch.setattr(deliveries, "_RECORD_TOGETHER", failing)
    answers = [store.deliveries.record("github", f"d-{i % 2}", "push", {key}, None) for i in range(3)]
    (fetch,) = answers[0].job_ids
    assert [(a.job_ids, a.seen_before) for a in answers] == [([fetch], False), ([fetch], False), ([fetch], True)]
    assert answers[0].to_send == [(fetch, repo.id, None)] and len(store.jobs.latest()) == 1
    assert "delivery_batch_failed" in caplog.text
