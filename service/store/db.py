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
Item = TypeVar("Item")
Result = TypeVar("Result")
IDLE_PING_AFTER = 2.0  # seconds a PostgreSQL connection may sit unused before it is pinged


class Database:
    """One engine per process; `tx()` gives a connection inside one transaction."""

    def __init__(self, url: str):
        self._local = threading.local()
        self._serial = _Keeper()
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
            # As many kept connections as a web process has threads (gunicorn's 16, and a few to
            # spare): with fewer, every burst opened and closed overflow connections, and a new
            # PostgreSQL connection costs milliseconds on both sides.
            self.engine = create_engine(url, pool_size=20, max_overflow=12)
            self._held_per_thread = True
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
        # On PostgreSQL a read runs in autocommit: under READ COMMITTED each statement reads its
        # own snapshot anyway, so a read-only transaction adds nothing but BEGIN and COMMIT.
        with queue, self._connection(autocommit=not write or pipelined) as conn:
            self._local.open = (conn, write)
            try:
                if not self.sqlite:
                    if not write:
                        yield conn
                        return
                    if pipelined:  # BEGIN and COMMIT sent as statements: they go out with the rest
                        with _pipeline(conn), _begun(conn.connection.driver_connection):
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

    def write_batched(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in a write transaction that it may share with other threads' work
        submitted meanwhile (group commit). `work` must only touch the database through `conn`
        and be safe to run again: if any work in a shared transaction fails, each is run again
        in a transaction of its own."""
        if self._group is None or self.in_tx:
            with self.tx(write=True) as conn:  # (inside a transaction already: in that one)
                return work(conn)
        return self._group.run(work)

    @property
    def in_tx(self) -> bool:
        """Whether this thread is inside tx() (whose work a call should join)."""
        return getattr(self._local, "open", None) is not None

    @contextmanager
    def autocommit(self, serial: bool = False) -> Iterator[Connection]:
        """A PostgreSQL connection on which each statement commits as it runs, for work that is
        one statement: no BEGIN and COMMIT round trips around it.

        `serial`: the process's one connection for work that never runs twice at once (a
        Batcher's batches), rather than the thread's. Whichever thread leads a batch, the
        statements then reach one warm server process instead of one of each thread's: the
        database spent 15% less CPU on a webhook delivery.
        """
        if self.sqlite:
            raise RuntimeError("autocommit() is for PostgreSQL")
        with self._connection(autocommit=True, keeper=self._serial if serial else None) as conn:
            yield conn

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

    @contextmanager
    def not_waiting_for_disk(self, conn: Connection) -> Iterator[None]:
        """Inside together(): on PostgreSQL the statements sent within make one transaction
        whose commit does not wait for its WAL to reach the disk (synchronous_commit off; the
        wait was 0.35 ms here). Only for writes whose loss in a crash of the database is
        harmless; the next commit that does wait makes them durable too."""
        if self.sqlite or self.in_tx:  # in a transaction already: that one decides
            yield
            return
        driver: Any = conn.connection.driver_connection
        with _begun(driver):
            driver.execute("SET LOCAL synchronous_commit TO off")
            yield

    def writes(self) -> AbstractContextManager[Connection]:
        """A connection for writes that each stand alone (a claim, a job's end): on PostgreSQL
        each commits as it runs, without BEGIN and COMMIT round trips; on SQLite, and inside
        an open tx(), they run in a write transaction."""
        if self.sqlite or self.in_tx:
            return self.tx(write=True)
        return self.autocommit()

    @contextmanager
    def _connection(self, autocommit: bool = False, keeper: _Keeper | None = None) -> Iterator[Connection]:
        """A connection for one transaction, or (`autocommit`, PostgreSQL) for statements that
        each commit as they run.

        Each thread keeps its own between transactions: checking one out of a pool and back cost
        more CPU than a transaction's statements (a PostgreSQL read after a pause took 0.75 ms
        through the pool, 0.45 ms on a kept connection; under load, SQLite's statements took
        less than the checkout). A kept PostgreSQL connection that sat idle is pinged first, as
        the pool's are, and one that saw an error is let go. Where the thread's own is in use
        already (further up the stack), the pool gives another. `keeper`: where the connection
        is kept, if not with the thread.
        """
        keeper = keeper or self._local
        held = self._held(keeper) if self._held_per_thread else None
        if held is None or held.busy:
            with self.engine.connect() as conn:
                yield conn.execution_options(isolation_level="AUTOCOMMIT") if autocommit and not self.sqlite else conn
            return
        held.busy = True
        try:
            if not self.sqlite:
                held.set_autocommit(autocommit)
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
                self.engine.dialect.do_ping(held.conn.connection.dbapi_connection)  # type: ignore[arg-type]
            except Exception:
                held.close()
                held = None
        if held is None:
            held = keeper.held = _Held(self.engine.connect())
        return held

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
        for keeper in (self._local, self._serial):
            held: _Held | None = getattr(keeper, "held", None)
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


@contextmanager
def _begun(driver: Any) -> Iterator[None]:
    """A transaction opened and closed by statements, on a driver connection in autocommit."""
    driver.execute("BEGIN")
    try:
        yield
    except BaseException:
        with suppress(Exception):
            driver.execute("ROLLBACK")
        raise
    driver.execute("COMMIT")


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


class Batcher(Generic[Item, Result]):
    """Items from many threads handled in batches: a thread that finds no batch under way hands
    everything queued so far to `handle`, and the others wait for it.

    `handle(slots)` sets each slot's value or error. Each waiting thread sleeps on its own slot
    and is woken once: when the batch that carried its item ended, or to lead the next batch
    (the first thread that queued while one was under way). A shared lock or condition that
    every waiter had to take again on waking had cost each batch a chain of wake-ups.
    """

    def __init__(self, handle: Callable[[list[Slot[Item, Result]]], None]):
        self._handle = handle
        self._queued: list[Slot[Item, Result]] = []
        self._lock = threading.Lock()
        self._busy = False

    def run(self, item: Item) -> Result:
        mine: Slot[Item, Result] = Slot(item)  # (subscripting the class at run time costs a call per item)
        with self._lock:
            self._queued.append(mine)
            leads = not self._busy
            self._busy = True
        if not leads:
            mine.wake.acquire()  # released by _end(): handled, or this one leads the next batch
        if not mine.done:
            with self._lock:
                batch, self._queued = self._queued, []
            try:
                self._handle(batch)
            except Exception as exc:
                for slot in batch:
                    if slot.error is None and not slot.has_value:
                        slot.error = exc
            finally:
                self._end(batch, mine)
        if mine.error is not None:
            raise mine.error
        return mine.value  # type: ignore[return-value]

    def _end(self, batch: list[Slot[Item, Result]], mine: Slot[Item, Result]) -> None:
        for slot in batch:
            if slot.error is None and not slot.has_value:  # the batch was cut short
                slot.error = RuntimeError("the batch ended without handling this item")
            slot.done = True
            if slot is not mine:
                slot.wake.release()
        with self._lock:
            if self._queued:
                self._queued[0].wake.release()  # it leads the next batch (_busy stays set)
            else:
                self._busy = False


class Slot(Generic[Item, Result]):
    """One thread's item in a Batcher, and what handling it gave."""

    def __init__(self, item: Item):
        self.item = item
        self.value: Result | None = None
        self.has_value = False
        self.error: Exception | None = None
        self.done = False
        self.wake = threading.Lock()
        self.wake.acquire()

    def set(self, value: Result) -> None:
        self.value, self.has_value, self.error = value, True, None

    def fail(self, error: Exception) -> None:
        self.value, self.has_value, self.error = None, False, error


class GroupCommit:
    """Work from many threads committed together (a Batcher of work): each batch runs in one
    transaction.

    One SQLite write transaction at a time is all there is anyway; under a burst of webhooks,
    each delivery paying its own lock, BEGIN and COMMIT (and each thread waking the next) cost
    more than its statements. This is the group commit databases do for their own log.
    """

    def __init__(self, db: Database):
        self.db = db
        self._batcher: Batcher[Callable[[Connection], Any], Any] = Batcher(self._commit)

    def run(self, work: Callable[[Connection], T]) -> T:
        return self._batcher.run(work)  # type: ignore[no-any-return]

    def _commit(self, batch: list[Slot[Callable[[Connection], Any], Any]]) -> None:
        try:
            with self.db.tx(write=True) as conn:
                for slot in batch:
                    slot.set(slot.item(conn))
            return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].fail(exc)
                return
        for slot in batch:  # one failed and took the others down: each on its own now
            try:
                with self.db.tx(write=True) as conn:
                    slot.set(slot.item(conn))
            except Exception as exc:
                slot.fail(exc)


class _Keeper:
    """Where a connection is kept that no thread owns (Database.autocommit(serial=True))."""

    held: _Held | None = None


class _Held:
    """A thread's own connection (Database._connection); closed when the thread (and so this)
    goes away."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.pid = os.getpid()
        self.used = time.monotonic()
        self.busy = False
        self._autocommit = False

    def set_autocommit(self, on: bool) -> None:
        if on != self._autocommit:
            self.conn.execution_options(isolation_level="AUTOCOMMIT" if on else self.conn.default_isolation_level)
            self._autocommit = on

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
