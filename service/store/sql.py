"""Hand-written SQL run on the driver's own connection, for the statements on the hot paths:
every webhook, and every job's claim, end and wait.

Building, caching and compiling a SQLAlchemy statement costs several times what SQLite takes to
run it; on the intake path that was most of a delivery's CPU, and a job's claim and end cost
milliseconds of it. The statements are plain SQL that SQLite and PostgreSQL both accept (unless
their store says otherwise), with `:name` parameters. Values are stored as the tables'
SQLAlchemy types store them, and read back as they read them (`rows`): times as naive UTC (on
SQLite, text in SQLAlchemy's format), JSON as its text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Table

from service.store.tables import UTCDateTime

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class Sql:
    """One statement; `run(conn, **params)` executes it inside `conn`'s transaction and returns
    the driver's cursor (fetchone/fetchall give plain tuples)."""

    def __init__(self, text: str):
        self.text = " ".join(text.split())
        self._pyformat = _NAMED.sub(r"%(\1)s", self.text)  # psycopg's parameter style

    def run(self, conn: Connection, **params: Any) -> Any:
        sqlite = conn.dialect.name == "sqlite"
        for name, value in params.items():
            if isinstance(value, datetime):
                value = value.astimezone(UTC).replace(tzinfo=None)
                params[name] = value.isoformat(" ", "microseconds") if sqlite else value
            elif isinstance(value, (dict, list)):
                params[name] = json.dumps(value)
        driver: Any = conn.connection.driver_connection
        return driver.execute(self.text if sqlite else self._pyformat, params)

    def rows(self, conn: Connection, table: Table, **params: Any) -> list[dict[str, Any]]:
        """The statement's rows as dicts of `table`'s columns, typed as SQLAlchemy reads them."""
        return self.later(conn, table, **params)()

    def later(self, conn: Connection, table: Table, **params: Any) -> Callable[[], list[dict[str, Any]]]:
        """Send the statement now, read its rows (as rows() gives them) when called: statements
        sent together (Database.together) are answered together."""
        cursor = self.run(conn, **params)
        sqlite = conn.dialect.name == "sqlite"
        # SQLite answers at once, and cannot commit while a statement is left unread.
        fetched = cursor.fetchall() if sqlite else None

        def read() -> list[dict[str, Any]]:
            found = fetched if fetched is not None else cursor.fetchall()
            if not found:
                return []
            names = tuple(d[0] for d in cursor.description)
            readers = _readers(table, names, sqlite)
            return [{name: read(value) for name, read, value in zip(names, readers, row, strict=True)}
                    for row in found]

        return read

    def row(self, conn: Connection, table: Table, **params: Any) -> dict[str, Any] | None:
        found = self.rows(conn, table, **params)
        return found[0] if found else None


def row_to_json(row: dict[str, Any]) -> str:
    """A row as JSON text (times in ISO format), to hand to another process: row_from_json."""
    return json.dumps(row, default=lambda value: value.isoformat())


def row_from_json(table: Table, text: str | bytes) -> dict[str, Any]:
    """A row of `table` from row_to_json(), typed as rows() gives it."""
    row: dict[str, Any] = json.loads(text)
    for name, value in row.items():
        if name in table.c and isinstance(table.c[name].type, UTCDateTime):
            row[name] = _utc(value)
    return row


def _as_is(value: Any) -> Any:
    return value


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=UTC)


def _json_text(value: Any) -> Any:
    return None if value is None else json.loads(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


@lru_cache(maxsize=64)
def _readers(table: Table, names: tuple[str, ...], sqlite: bool) -> list[Callable[[Any], Any]]:
    """How to read each named column: psycopg gives PostgreSQL's JSON parsed and its times as
    naive datetimes; sqlite3 gives text and integers."""
    readers: list[Callable[[Any], Any]] = []
    for name in names:
        kind = table.c[name].type if name in table.c else None
        if isinstance(kind, UTCDateTime):
            readers.append(_utc)
        elif isinstance(kind, JSON) and sqlite:
            readers.append(_json_text)
        elif isinstance(kind, Boolean) and sqlite:
            readers.append(_bool)
        else:
            readers.append(_as_is)
    return readers
