"""Database engine and transactions.

A SQLite file gets WAL, writers that line up before asking for its lock (WriterQueue) and one
connection per thread. Both SQLite and PostgreSQL get group commit for the work that comes in
bursts (webhooks).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

T = TypeVar("T")
IDLE_PING_AFTER = 2.0  # seconds a PostgreSQL connection may sit in the pool before it is pinged


class Database:
    """One engine per process; `tx()` gives a connection inside one transaction."""

    def __init__(self, url: str):
        self._local = threading.local()
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self._held_per_thread = False
        self._group: GroupCommit | None = None
        self._writers: WriterQueue | None = None
        file = self.sqlite and bool(parsed.database) and parsed.database != ":memory:"
        if self.sqlite:
            options: dict[str, Any] = {}
            if file:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
                self._writers = WriterQueue(Path(f"{parsed.database}.writer-lock"))
                # Each thread keeps its own connection (_connection): no pool to check out from.
                options = {"poolclass": NullPool}
                self._held_per_thread = True
                self._group = GroupCommit(self)
            # Driver-level autocommit so that we issue BEGIN IMMEDIATE ourselves: a deferred
            # transaction that later writes can fail at once with "database is locked".
            self.engine: Engine = create_engine(
                url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 30, "check_same_thread": False},
                **options,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            # As many kept connections as a web process has threads (gunicorn's 8, and a few to
            # spare): with fewer, every burst opened and closed overflow connections, and a new
            # PostgreSQL connection costs milliseconds on both sides.
            self.engine = create_engine(url, pool_size=12, max_overflow=12)
            self._group = GroupCommit(self)
            event.listen(self.engine, "checkin", _note_checkin)
            event.listen(self.engine, "checkout", self._ping_if_idle)

    @contextmanager
    def tx(self, write: bool = False, pipelined: bool = False) -> Iterator[Connection]:
        """A transaction; on SQLite `write=True` takes the write lock up front.

        Inside another tx() of the same thread this joins it, so that a caller can make several
        store calls one transaction: one round trip to the database instead of one each.

        `pipelined` (PostgreSQL): the statements go out without waiting for each answer, and
        BEGIN, they and COMMIT make one round trip; a result read on the way waits for what
        was sent before it. Only for hand-written statements (service.store.sql): SQLAlchemy's
        own read each result as soon as they are sent.
        """
        outer: tuple[Connection, bool] | None = getattr(self._local, "open", None)
        if outer is not None:
            if write and not outer[1]:
                raise RuntimeError("a write inside a read-only transaction")
            yield outer[0]
            return
        queue: Any = self._writers if write and self._writers is not None else nullcontext()
        with queue, self._connection() as conn:
            self._local.open = (conn, write)
            try:
                if not self.sqlite:
                    if not write:
                        # Under READ COMMITTED each statement reads its own snapshot anyway, so a
                        # read-only transaction adds nothing but BEGIN and COMMIT round trips.
                        yield conn.execution_options(isolation_level="AUTOCOMMIT")
                        return
                    if pipelined:
                        with _pipeline(conn), conn.begin():
                            yield conn
                        return
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

    def write_batched(self, work: Callable[[Connection], T], one_statement: bool = False) -> T:
        """Run `work(conn)` in a write transaction that it may share with other threads' work
        submitted meanwhile (group commit). `work` must only touch the database through `conn`
        and be safe to run again: if any work in a shared transaction fails, each is run again
        in a transaction of its own. Work that is `one_statement` and finds nobody to share
        with runs on its own in autocommit (PostgreSQL), without BEGIN and COMMIT round trips."""
        if self._group is None or self.in_tx:
            with self.tx(write=True) as conn:  # (inside a transaction already: in that one)
                return work(conn)
        return self._group.run(work, one_statement and not self.sqlite)

    @property
    def in_tx(self) -> bool:
        """Whether this thread is inside tx() (whose work a call should join)."""
        return getattr(self._local, "open", None) is not None

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A PostgreSQL connection on which each statement commits as it runs, for work that is
        one statement: no BEGIN and COMMIT round trips around it."""
        if self.sqlite:
            raise RuntimeError("autocommit() is for PostgreSQL")
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def together(self) -> Iterator[Connection]:
        """A connection for statements that each stand alone, sent without waiting for each
        answer (Sql.later): on PostgreSQL they make one round trip, each committing as it runs;
        on SQLite, and inside an open tx(), they run in a write transaction."""
        if self.sqlite or self.in_tx:
            with self.tx(write=True) as conn:
                yield conn
            return
        with self.autocommit() as conn, _pipeline(conn):
            yield conn

    def writes(self) -> AbstractContextManager[Connection]:
        """A connection for writes that each stand alone (a claim, a job's end): on PostgreSQL
        each commits as it runs, without BEGIN and COMMIT round trips; on SQLite, and inside
        an open tx(), they run in a write transaction."""
        if self.sqlite or self.in_tx:
            return self.tx(write=True)
        return self.autocommit()

    def _connection(self) -> AbstractContextManager[Connection]:
        """A connection for one transaction. A SQLite file's connections stay with their thread
        (closed when it ends): under load, checking one out of a pool and back cost more CPU
        than the statements run on it."""
        if not self._held_per_thread:
            return self.engine.connect()
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid() or held.conn.closed:
            held = self._local.held = _Held(self.engine.connect())
        return nullcontext(held.conn)

    def _ping_if_idle(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """A connection that sat in the pool a while is asked if it is still there (the server
        may have restarted); one just used is not: a ping on every checkout cost a round trip
        per transaction. A dead one makes the pool connect again (DisconnectionError)."""
        last = record.info.get("checked_in")
        if last is not None and time.monotonic() - last > IDLE_PING_AFTER:
            try:
                self.engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:
                raise DisconnectionError("the database connection went away") from exc

    def dispose(self) -> None:
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None:
            held.close()
        self.engine.dispose()


def _pipeline(conn: Connection) -> AbstractContextManager[Any]:
    """psycopg's pipeline mode on `conn`; where libpq is too old for it (before 14), none: the
    same statements then go one round trip each."""
    import psycopg

    if not psycopg.Pipeline.is_supported():
        return nullcontext()
    return conn.connection.driver_connection.pipeline()  # type: ignore[union-attr,no-any-return]


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


class GroupCommit:
    """Work from many threads, committed together: whoever finds no commit under way runs
    everything queued so far in one transaction, and the others wait for it.

    One SQLite write transaction at a time is all there is anyway; under a burst of webhooks,
    each delivery paying its own lock, BEGIN and COMMIT (and each thread waking the next) cost
    more than its statements. On PostgreSQL, sharing the commit cut the server's CPU per
    delivery by 10-40% in bench/hooks.py's runs (the web's CPU did not measurably change).
    This is the group commit databases do for their own log.
    """

    def __init__(self, db: Database):
        self.db = db
        self._queued: list[_Work[Any]] = []
        self._queue_lock = threading.Lock()
        self._committing = threading.Lock()

    def run(self, work: Callable[[Connection], T], alone_in_autocommit: bool = False) -> T:
        mine = _Work(work)
        with self._queue_lock:
            self._queued.append(mine)
        with self._committing:
            if not mine.done:
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self._commit(batch, alone_in_autocommit)
        return mine.outcome()

    def _commit(self, batch: list[_Work[Any]], alone_in_autocommit: bool) -> None:
        try:
            if len(batch) == 1 and alone_in_autocommit:
                with self.db.autocommit() as conn:
                    batch[0].value = batch[0].fn(conn)
                return
            try:
                with self.db.tx(write=True) as conn:
                    for work in batch:
                        work.value = work.fn(conn)
                return
            except Exception:
                if len(batch) == 1:
                    raise
            for work in batch:  # one failed and took the others down: each on its own now
                try:
                    with self.db.tx(write=True) as conn:
                        work.value, work.error = work.fn(conn), None
                except Exception as exc:
                    work.error = exc
        except Exception as exc:
            batch[0].error = exc
        finally:
            for work in batch:
                work.done = True


class _Work(Generic[T]):
    def __init__(self, fn: Callable[[Connection], T]):
        self.fn = fn
        self.value: T | None = None
        self.error: Exception | None = None
        self.done = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class _Held:
    """A thread's own SQLite connection; closed when the thread (and so this) goes away."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.pid = os.getpid()

    def close(self) -> None:
        if self.pid == os.getpid():  # never a connection inherited through fork
            with suppress(Exception):
                self.conn.close()

    def __del__(self) -> None:
        self.close()


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
