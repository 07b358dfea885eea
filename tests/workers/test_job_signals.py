"""A worker's signal that a job ended wakes an API call waiting on it, on either broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.job_signals import JobSignals
from service.settings import load_settings
from tests.support.services import redis_database


@pytest.fixture(params=["embedded", "redis"])
def signals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobSignals]:
    env = {"GITFERRY_DATA_DIR": str(tmp_path)}
    if request.param == "embedded":
        yield JobSignals(load_settings(env))
        return
    with redis_database(13) as url:
        yield JobSignals(load_settings({**env, "GITFERRY_BROKER_URL": url}))


def waited(signals: JobSignals, job_id: int, signal_job: int) -> float:
    """Seconds a 30 s wait on `job_id` lasts when job `signal_job` ends 0.2 s in."""
    timer = threading.Timer(0.2, signals.ended, args=(signal_job,))
    with signals.listening(job_id) as wait:
        timer.start()
        started = time.monotonic()
        deadline = started + 3
        while time.monotonic() < deadline:  # as wait_for_job does: wait, look, wait again
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
