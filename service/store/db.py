"""Database engine and transactions; SQLite gets WAL and immediate write locks."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


class Database:
    """One engine per process; `tx()` gives a connection inside one transaction."""

    def __init__(self, url: str):
        self._local = threading.local()
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self._writers: WriterQueue | None = None
        if self.sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                self._writers = WriterQueue(Path(parsed.database + ".writer-lock"))
            # Driver-level autocommit so that we issue BEGIN IMMEDIATE ourselves: a deferred
            # transaction that later writes can fail at once with "database is locked".
            self.engine: Engine = create_engine(
                url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 30},
                pool_reset_on_return=None,  # tx() has always ended its transaction: no ROLLBACK needed
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    @contextmanager
    def tx(self, write: bool = False) -> Iterator[Connection]:
        """A transaction; on SQLite `write=True` takes the write lock up front.

        Inside another tx() of the same thread this joins it, so that a caller can make several
        store calls one transaction: one round trip to the database instead of one each.
        """
        outer: tuple[Connection, bool] | None = getattr(self._local, "open", None)
        if outer is not None:
            if write and not outer[1]:
                raise RuntimeError("a write inside a read-only transaction")
            yield outer[0]
            return
        queue: Any = self._writers if write and self._writers is not None else nullcontext()
        with queue, self.engine.connect() as conn:
            self._local.open = (conn, write)
            try:
                if not self.sqlite:
                    with conn.begin():
                        yield conn
                    return
                # On the driver's own connection: through SQLAlchemy these cost more than the work.
                raw = conn.connection.driver_connection
                raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]
                try:
                    yield conn
                except BaseException:
                    raw.execute("ROLLBACK")  # type: ignore[union-attr]
                    raise
                raw.execute("COMMIT")  # type: ignore[union-attr]
            finally:
                self._local.open = None

    def dispose(self) -> None:
        self.engine.dispose()


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


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
