"""Database engine and transactions; SQLite gets WAL and immediate write locks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


class Database:
    """One engine per process; `tx()` gives a connection inside one transaction."""

    def __init__(self, url: str):
        self._local = threading.local()
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # Driver-level autocommit so that we issue BEGIN IMMEDIATE ourselves: a deferred
            # transaction that later writes can fail at once with "database is locked".
            self.engine: Engine = create_engine(
                url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 30}
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
        with self.engine.connect() as conn:
            self._local.open = (conn, write)
            try:
                if not self.sqlite:
                    with conn.begin():
                        yield conn
                    return
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
            finally:
                self._local.open = None

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
