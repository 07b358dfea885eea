"""The database engine and the one way the store opens a transaction: read(), write(), write_batched().

Each backend does what makes it fast behind those three, privately: a SQLite file gets WAL and
its writers lined up before its lock (sqlite_writers), PostgreSQL sends a write transaction
in one round trip (pipelining), and both commit bursts of work together (group_commit).
PostgreSQL's connections and transactions are held to time limits (timeouts).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.pool import NullPool

from service.store.group_commit import GroupCommit
from service.store.pipelining import pipelined, sync_sqlalchemy
from service.store.sqlite_writers import WriterQueue, sqlite_pragmas
from service.store.timeouts import GRACE, WATCHDOG, NoAnswer

T = TypeVar("T")
IDLE_PING_AFTER = 2.0  # seconds a PostgreSQL connection may sit unused before it is pinged


class Database:
    """One engine per process. On PostgreSQL, `connect_timeout` limits connecting and pinging,
    and `statement_timeout` each statement (seconds; None: no limit)."""

    def __init__(self, url: str, *, connect_timeout: int | None = None, statement_timeout: int | None = None):
        self._local = threading.local()
        self._batches = _Keeper()
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self._held_per_thread = True
        self._writers: WriterQueue | None = None
        self._deadline: float | None = None  # seconds a PostgreSQL transaction may go unanswered
        self._ping_deadline: float | None = None
        # Errors of statements run on the driver's own connection (sql.py), which SQLAlchemy does
        # not see: raised as its OperationalError, as DatabaseUnavailable.
        self._driver_unavailable: type[Exception] = sqlite3.OperationalError
        if self.sqlite:
            options: dict[str, Any] = {}
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                self._writers = WriterQueue(Path(f"{parsed.database}.writer-lock"))
                options = {"poolclass": NullPool}  # each thread keeps its own connection (_connection)
            else:
                self._held_per_thread = False
            # Driver-level autocommit so that we issue BEGIN IMMEDIATE ourselves: a deferred
            # transaction that later writes can fail at once with "database is locked".
            self.engine: Engine = create_engine(
                url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 30, "check_same_thread": False},
                **options,
            )
            event.listen(self.engine, "connect", sqlite_pragmas)
        else:
            # As many kept connections as a web process has threads (gunicorn's 16, and a few to
            # spare): with fewer, every burst opened and closed overflow connections, and a new
            # PostgreSQL connection costs milliseconds on both sides.
            import psycopg

            self._driver_unavailable = psycopg.OperationalError
            self._deadline = statement_timeout + GRACE if statement_timeout else None
            self._ping_deadline = connect_timeout or self._deadline
            self.engine = create_engine(url, pool_size=20, max_overflow=12,
                                        connect_args=_limits(parsed.query, connect_timeout, statement_timeout))
            event.listen(self.engine, "checkin", _note_checkin)
            event.listen(self.engine, "checkout", self._ping_if_idle)
            sync_sqlalchemy(self.engine)
        self._group = GroupCommit(self._write_batch) if self._held_per_thread else None

    def read(self) -> AbstractContextManager[Connection]:
        """A connection to read through. Inside a write of the same thread, that write's."""
        return self._transaction(write=False)

    def write(self, durable: bool = True) -> AbstractContextManager[Connection]:
        """A write transaction, committed on leaving (rolled back on an exception). Inside
        another of the same thread it joins that one: store calls made within are one
        transaction, on PostgreSQL one round trip. Not `durable`: on PostgreSQL its commit does
        not wait for the disk (for writes whose loss in a crash of the database is harmless)."""
        return self._transaction(write=True, durable=durable)

    def write_batched(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in a write transaction that it may share with other threads' work
        submitted meanwhile (group commit). `work` must only touch the database through `conn`
        and be safe to run again: if any work in a shared transaction fails, each is run again
        in a transaction of its own."""
        if self._group is None or self.in_write:
            with self.write() as conn:
                return work(conn)
        return self._group.run(work)

    def write_batch(self) -> AbstractContextManager[Connection]:
        """write(), on this process's one connection for batches rather than the thread's:
        whichever thread leads a batch, its statements reach one warm server process, which
        spends less CPU on them than a cold one of each thread."""
        return self._transaction(write=True, keeper=self._batches)

    @property
    def in_write(self) -> bool:
        """Whether this thread is inside write() (whose work a call should join)."""
        outer = getattr(self._local, "open", None)
        return outer is not None and outer[1]

    def _write_batch(self, work: Callable[[Connection], None]) -> None:
        with self.write_batch() as conn:
            work(conn)

    @contextmanager
    def _transaction(self, write: bool, durable: bool = True, keeper: Any = None) -> Iterator[Connection]:
        outer: tuple[Connection, bool] | None = getattr(self._local, "open", None)
        if outer is not None:
            if write and not outer[1]:
                raise RuntimeError("a write inside a read")
            yield outer[0]
            return
        queue: Any = self._writers if write and self._writers is not None else nullcontext()
        with queue, self._connection(keeper or self._local) as conn:
            self._local.open = (conn, write)
            driver = None
            if self._deadline is not None:
                driver = conn.connection.driver_connection
                WATCHDOG.watch(driver, self._deadline)
            try:
                if self.sqlite:
                    with _sqlite_transaction(conn, write):
                        yield conn
                elif write:
                    with pipelined(conn, durable):
                        yield conn
                else:
                    # A read runs in autocommit: under READ COMMITTED each statement reads its own
                    # snapshot anyway, so a read-only transaction adds nothing but BEGIN and COMMIT.
                    yield conn
            except self._driver_unavailable as exc:
                raise OperationalError(None, None, exc) from exc
            finally:
                self._local.open = None
                if driver is not None:
                    WATCHDOG.let_go(driver)

    @contextmanager
    def _connection(self, keeper: Any) -> Iterator[Connection]:
        """A connection in driver-level autocommit (transactions are begun by statements).

        Each thread keeps its own between transactions: checking one out of a pool and back cost
        more CPU than a transaction's statements. A kept PostgreSQL connection that sat idle is
        pinged first, as the pool's are, and one that saw an error is let go. Where the kept one
        is in use already (further up the stack), the pool gives another.
        """
        held = self._held(keeper) if self._held_per_thread else None
        if held is None or held.busy:
            with self.engine.connect() as conn:
                yield conn if self.sqlite else conn.execution_options(isolation_level="AUTOCOMMIT")
            return
        held.busy = True
        try:
            yield held.conn
            if not self.sqlite and held.conn.in_transaction():
                held.conn.rollback()  # what SQLAlchemy began by itself around statements in autocommit
        except BaseException:
            if not self.sqlite:
                keeper.held = None
                held.close()
            raise
        finally:
            held.busy = False
            held.used = time.monotonic()

    def _held(self, keeper: Any) -> _Held:
        held: _Held | None = getattr(keeper, "held", None)
        if held is not None and (held.pid != os.getpid() or held.conn.closed or held.conn.invalidated):
            held = None
        if held is not None and not held.busy and not self.sqlite \
                and time.monotonic() - held.used > IDLE_PING_AFTER:
            try:
                self._ping(held.conn.connection.dbapi_connection)
            except Exception as exc:
                held.close()
                held = keeper.held = None
                if isinstance(exc, NoAnswer):
                    raise
        if held is None:
            conn = self.engine.connect()
            held = keeper.held = _Held(conn if self.sqlite else conn.execution_options(isolation_level="AUTOCOMMIT"))
        return held

    def _ping_if_idle(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """A connection that sat in the pool a while is asked if it is still there (the server
        may have restarted); one just used is not: a ping on every checkout cost a round trip
        per transaction. A dead one makes the pool connect again (DisconnectionError)."""
        last = record.info.get("checked_in")
        if last is not None and time.monotonic() - last > IDLE_PING_AFTER:
            try:
                self._ping(dbapi_conn)
            except NoAnswer:
                raise  # not DisconnectionError: the pool would try a new connection, and wait again
            except Exception as exc:
                raise DisconnectionError("the database connection went away") from exc

    def _ping(self, dbapi_conn: Any) -> None:
        """A round trip with no work: as long to wait for as a new connection. NoAnswer if it
        got none in that time; a connection the server dropped fails at once (a new one may do)."""
        if self._ping_deadline is None:
            self.engine.dialect.do_ping(dbapi_conn)
            return
        WATCHDOG.watch(dbapi_conn, self._ping_deadline)
        try:
            self.engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            if not WATCHDOG.let_go(dbapi_conn):
                raise NoAnswer(None, None, exc) from exc
            raise
        WATCHDOG.let_go(dbapi_conn)

    def dispose(self) -> None:
        for keeper in (self._local, self._batches):
            held: _Held | None = getattr(keeper, "held", None)
            if held is not None:
                held.close()
        self.engine.dispose()


@contextmanager
def _sqlite_transaction(conn: Connection, write: bool) -> Iterator[None]:
    # On the driver's own connection: through SQLAlchemy these cost more than the work.
    raw: Any = conn.connection.driver_connection
    raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")


def _limits(query: Any, connect_timeout: int | None, statement_timeout: int | None) -> dict[str, Any]:
    """psycopg's arguments for the limits: `connect_timeout`, and the server's `statement_timeout`
    set at connection start (no round trip of its own), after any `options` the URL gives."""
    limits: dict[str, Any] = {}
    if connect_timeout:
        limits["connect_timeout"] = connect_timeout
    if statement_timeout:
        given = query.get("options")
        limits["options"] = " ".join(filter(None, [given if isinstance(given, str) else None,
                                                   f"-c statement_timeout={statement_timeout * 1000}"]))
    return limits


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


class _Keeper:
    """Where a connection is kept that no thread owns (Database.write_batch)."""

    held: _Held | None = None


class _Held:
    """A kept connection (Database._connection); closed when its keeper (and so this) goes away."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.pid = os.getpid()
        self.used = time.monotonic()
        self.busy = False

    def close(self) -> None:
        if self.pid == os.getpid():  # never a connection inherited through fork
            with suppress(Exception):
                self.conn.close()

    def __del__(self) -> None:
        # Collected together with its Database (an app nobody closed), the connection may have
        # been let go by SQLAlchemy already: closing it again would reset a closed connection,
        # and log the failure, from inside the garbage collector.
        with suppress(Exception):
            if self.conn.connection.driver_connection is None:
                return
        self.close()
