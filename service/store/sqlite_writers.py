"""SQLite's writers lined up before they ask for its write lock, and its connection settings."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any


class WriterQueue:
    """Lines up SQLite writers, of every thread and process, before they ask for the write lock.

    SQLite makes a writer that finds the lock taken sleep and retry (1, 2, 5, 10... ms), however
    soon the lock is free again, and a thread holding it may wait several ms for the GIL. Under
    a burst of webhooks most of the time went to those sleeps. A blocking `flock` wakes the next
    writer the moment the lock is let go; a thread lock lines up this process's own threads,
    which share the one file descriptor (an flock belongs to the open file, not the thread).
    """

    def __init__(self, path: Path):
        self.path = path
        self._pid = -1
        self._fd = -1
        self._threads = threading.Lock()

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._pid != os.getpid():  # opened after a fork: a shared descriptor would share the lock
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
