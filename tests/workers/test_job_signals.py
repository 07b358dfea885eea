"""A worker's signal that a job ended wakes an API call waiting on it, on either broker."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.jobs.signals import SIGNAL_KEPT, JobSignals
from service.settings import load_settings
from tests.support.services import redis_database


@pytest.fixture(params=["embedded", "redis"])
def signals(request: pytest.FixtureRequest) -> Iterator[JobSignals]:
    # A short path: pytest's own would be too long for the doorbells' UNIX sockets.
    data = Path(tempfile.mkdtemp(prefix="gf-"))
    env = {"GITFERRY_DATA_DIR": str(data)}
    try:
        if request.param == "embedded":
            yield JobSignals(load_settings(env))
            return
        with redis_database() as url:
            yield JobSignals(load_settings({**env, "GITFERRY_BROKER_URL": url}))
    finally:
        shutil.rmtree(data, ignore_errors=True)


def waited(signals: JobSignals, job_id: int, signal_job: int) -> float:
    """Seconds a 30 s wait on `job_id` lasts when job `signal_job` ends 0.2 s in."""
    timer = threading.Timer(0.2, signals.ended, args=(signal_job,))
    with signals.listening(job_id) as wait:
        started = time.monotonic()  # before the timer: its signal may come a hair under 0.2 s after it starts
        timer.start()
        deadline = started + 3
        while time.monotonic() < deadline:  # as JobQueue.wait does: wait, look, wait again
            wait(deadline - time.monotonic())
            if time.monotonic() - started >= 0.2:
                break
        return time.monotonic() - started


def test_the_end_of_the_job_wakes_its_waiter(signals: JobSignals) -> None:
    assert waited(signals, 7, 7) < 2


def test_the_end_of_another_job_does_not(signals: JobSignals) -> None:
    assert waited(signals, 7, 8) >= 2.9


def test_signalling_with_nobody_waiting_is_harmless(signals: JobSignals) -> None:
    signals.ended(12345)


def test_many_waiters_are_each_woken_by_their_own_job(signals: JobSignals) -> None:
    """Concurrent ?wait calls on several jobs, two on one of them: each wakes at its job's end."""
    woke: dict[str, float] = {}
    started = time.monotonic()

    def wait_on(label: str, job_id: int) -> None:
        with signals.listening(job_id) as wait:
            ready.wait()
            wait(10)
            woke[label] = time.monotonic() - started

    ready = threading.Barrier(6)
    threads = [threading.Thread(target=wait_on, args=(f"{job}-{n}", job)) for job, n in
               [(21, 0), (21, 1), (22, 0), (23, 0), (24, 0)]]
    for t in threads:
        t.start()
    ready.wait()
    for job in (21, 22, 23, 24):
        time.sleep(0.3)
        signals.ended(job)
    for t in threads:
        t.join(15)
    assert sorted(woke) == ["21-0", "21-1", "22-0", "23-0", "24-0"]
    assert all(seconds < 5 for seconds in woke.values()), woke
    assert woke["21-0"] < woke["22-0"] < woke["23-0"] < woke["24-0"]  # each at its own job's end


def test_over_redis_the_end_signal_hands_the_waiter_the_ended_job(signals: JobSignals) -> None:
    """So that the waiting API call need not read the job back (its end was committed first)."""
    row = '{"id": 7, "state": "done"}'
    with signals.listening(7) as wait:
        threading.Timer(0.1, signals.ended, args=(7, row)).start()
        carried = wait(3)
    assert carried == (row.encode() if signals.redis is not None else None)


def test_over_redis_a_waiter_just_after_the_end_hears_it_and_the_signal_does_not_linger() -> None:
    """A ?wait call reads the job, then waits: a job that ended in between must still wake it.
    Every waiter of the job hears the end, and the signal is gone from Redis soon after."""
    with redis_database() as url:
        _waiters_after_the_end(JobSignals(load_settings({"GITFERRY_BROKER_URL": url})))


def _waiters_after_the_end(signals: JobSignals) -> None:
    assert signals.redis is not None
    row = '{"id": 9, "state": "done"}'
    signals.ended(9, row)
    for _ in range(2):  # two waiters, one after the other
        with signals.listening(9) as wait:
            started = time.monotonic()
            assert wait(5) == row.encode()
            assert time.monotonic() - started < 1
            started = time.monotonic()
            assert wait(0.3) is None  # heard already: a second wait waits, rather than spin
            assert time.monotonic() - started >= 0.25
    key = f"{signals.prefix}9"
    assert 0 < signals.redis.ttl(key) <= SIGNAL_KEPT
