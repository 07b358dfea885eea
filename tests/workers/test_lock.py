"""The per-clone lock: one job at a time on a clone, released when its holder dies; and the
heartbeat that keeps a running job's lease."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

from workers.tasks.lock import Heartbeat, clone_lock, lock_file


def _hold(path: str, ready, seconds: float) -> None:  # type: ignore[no-untyped-def]
    with clone_lock(Path(path)):
        ready.set()
        time.sleep(seconds)


def test_second_job_waits_for_the_first(tmp_path: Path) -> None:
    clone = tmp_path / "repos" / "1.git"
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with clone_lock(clone):
            inside.set()
            time.sleep(0.3)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    inside.wait()
    with clone_lock(clone):
        order.append("second in")
    t.join()
    assert order == ["first done", "second in"]


def test_lock_of_a_killed_worker_is_released(tmp_path: Path) -> None:
    clone = tmp_path / "repos" / "2.git"
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(clone), ready, 60))
    holder.start()
    assert ready.wait(10)
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    holder.join()
    started = time.monotonic()
    with clone_lock(clone):
        assert time.monotonic() - started < 2


def test_a_job_waiting_for_a_lock_file_that_is_removed_takes_a_new_one(tmp_path: Path) -> None:
    """The job that removes a repo removes its lock file as it goes: a job that waited on the old
    file holds nothing, so it must not run beside one that takes the new file."""
    clone = tmp_path / "repos" / "3.git"
    inside: list[str] = []
    overlapped = threading.Event()
    waiting = threading.Event()

    def hold(name: str) -> None:
        with clone_lock(clone, on_wait=waiting.set):
            if inside:
                overlapped.set()
            inside.append(name)
            time.sleep(0.2)
            inside.remove(name)

    with clone_lock(clone):
        waiter = threading.Thread(target=hold, args=("waiter",))
        waiter.start()
        assert waiting.wait(5)
        lock_file(clone).unlink()
    newcomer = threading.Thread(target=hold, args=("newcomer",))
    newcomer.start()
    waiter.join()
    newcomer.join()
    assert not overlapped.is_set()
    assert lock_file(clone).exists()


def test_other_clones_are_not_blocked(tmp_path: Path) -> None:
    with clone_lock(tmp_path / "repos" / "1.git"), clone_lock(tmp_path / "repos" / "2.git"):
        pass


def test_a_long_job_is_renewed_while_it_runs_and_not_after() -> None:
    beats = Heartbeat()
    renewed: list[float] = []
    started = time.monotonic()
    with beats.beating(lambda: renewed.append(time.monotonic() - started), every=0.1):
        time.sleep(0.55)
    ended = len(renewed)
    time.sleep(0.3)
    assert 2 <= ended <= 5, renewed
    gaps = [b - a for a, b in zip([0.0, *renewed], renewed, strict=False)]
    assert max(gaps) < 0.3, renewed  # each within the lease (3 x every) of the last
    assert len(renewed) == ended  # nothing once the job is over


def test_jobs_are_renewed_side_by_side_and_one_failing_renewal_stops_nothing() -> None:
    beats = Heartbeat()
    calls = {"failing": 0, "other": 0}

    def failing() -> None:
        calls["failing"] += 1
        raise ConnectionError("database away")

    def other() -> None:
        calls["other"] += 1

    with beats.beating(failing, every=0.1), beats.beating(other, every=0.1):
        time.sleep(0.45)
    assert calls["failing"] >= 2 and calls["other"] >= 2, calls


def test_one_thread_renews_every_job_of_the_process() -> None:
    beats = Heartbeat()
    with beats.beating(lambda: None, every=60):
        pass
    running = threading.active_count()  # the process's heartbeat thread is among them now
    with beats.beating(lambda: None, every=60), beats.beating(lambda: None, every=60):
        assert threading.active_count() == running  # no thread of its own for a job
