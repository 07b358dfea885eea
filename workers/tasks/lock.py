"""A per-clone lock (so two jobs never run git on one clone) and the job lease heartbeat."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


def lock_file(clone: Path) -> Path:
    """The file beside the clone that its lock is taken on."""
    return clone.with_suffix(".lock")


@contextmanager
def clone_lock(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive flock beside the clone; the kernel drops it if the worker dies."""
    fd = _locked(lock_file(path), on_wait)
    try:
        yield
    finally:
        os.close(fd)


def _locked(lock: Path, on_wait: Callable[[], None] | None) -> int:
    """A descriptor of `lock`, flocked. The file may be removed while we wait (with its clone,
    by the job that removed a repo): a lock on it guards nothing, so it is opened again."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    delay = 0.005
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if on_wait:
                        on_wait()
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
            if _same_file(fd, lock):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino)


class Heartbeat:
    """One thread per worker process renews the lease of every job the process runs.

    A thread of its own for each job cost a thread start (and the wait for it to run) before
    each job's git, on the path of every ?wait answer. The shared thread looks every
    `every / 2` seconds, so each job is renewed between `every` and 1.5 x `every` after the
    last time: callers pass a third of the lease, which leaves it half a lease to spare.
    """

    def __init__(self) -> None:
        self._jobs: dict[object, list[Any]] = {}  # token -> [due, every, renew]
        self._lock = threading.Lock()
        self._tick = float("inf")
        self._wake = threading.Event()
        self._pid: int | None = None

    @contextmanager
    def beating(self, renew: Callable[[], None], every: float) -> Iterator[None]:
        """Call `renew` about every `every` seconds while the body runs, so the lease stays ours."""
        token = object()
        with self._lock:
            self._jobs[token] = [time.monotonic() + every, every, renew]
            if self._pid != os.getpid():  # the first job in this process (or since a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._beat, name="job-heartbeat", daemon=True).start()
            if every / 2 < self._tick:
                self._tick = every / 2
                self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                del self._jobs[token]

    def _beat(self) -> None:
        while True:
            self._wake.wait(None if self._tick == float("inf") else self._tick)
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                due = [job for job in self._jobs.values() if job[0] <= now]
                for job in due:
                    job[0] = now + job[1]
            for _due, _every, renew in due:
                with suppress(Exception):  # a missed renewal is retried at the next beat
                    renew()


heartbeat = Heartbeat().beating
