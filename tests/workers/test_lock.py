"""The per-clone lock: one job at a time on a clone, released when its holder dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

from workers.tasks.lock import clone_lock


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


def test_other_clones_are_not_blocked(tmp_path: Path) -> None:
    with clone_lock(tmp_path / "repos" / "1.git"), clone_lock(tmp_path / "repos" / "2.git"):
        pass
