"""PostgreSQL write transactions as one round trip: psycopg's pipeline mode.

BEGIN, the statements and COMMIT go out without waiting for each answer; a hand-written
statement's rows (Sql.later) are read once everything sent before them is answered. A
SQLAlchemy statement reads its result as soon as it is sent, so the pipeline is synced right
after it (sync_sqlalchemy): it costs its own round trip, as it would outside a pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

from sqlalchemy import Connection, Engine, event

_PIPELINE = "gitferry_pipeline"  # where a connection's open pipeline is kept (Connection.info)


@contextmanager
def pipelined(conn: Connection, durable: bool) -> Iterator[None]:
    """One transaction on `conn` (in autocommit: BEGIN and COMMIT are sent as statements).
    Not `durable`: its commit does not wait for the disk (for writes whose loss in a crash of the
    database is harmless; the next commit that waits makes them durable too)."""
    import psycopg

    driver: Any = conn.connection.driver_connection
    # libpq before 14 has no pipeline mode: the same statements then go a round trip each.
    pipeline: Any = driver.pipeline() if psycopg.Pipeline.is_supported() else nullcontext()
    try:
        with pipeline as sending:
            if sending is not None:
                conn.info[_PIPELINE] = sending
            driver.execute("BEGIN")
            if not durable:
                driver.execute("SET LOCAL synchronous_commit TO off")
            yield
            driver.execute("COMMIT")
    except BaseException:
        _roll_back(driver)
        raise
    finally:
        conn.info.pop(_PIPELINE, None)


def _roll_back(driver: Any) -> None:
    """Whatever failed (a statement, or COMMIT answering an earlier statement's error), end the
    transaction so that the connection can serve the next one."""
    import psycopg

    if driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        with suppress(Exception):
            driver.execute("ROLLBACK")


def sync_sqlalchemy(engine: Engine) -> None:
    """Have SQLAlchemy's statements answered at once inside pipelined(): it reads their result
    (or that there is none) right after sending them."""

    @event.listens_for(engine, "after_cursor_execute")
    def _sync(conn: Connection, *_args: Any) -> None:
        pipeline = conn.info.get(_PIPELINE)
        if pipeline is not None:
            pipeline.sync()
