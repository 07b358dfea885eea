"""Hand-written SQL run on the driver's own connection, for the statements on the hot paths:
every webhook, and every job's claim, end and wait.

Building, caching and compiling a SQLAlchemy statement costs several times what SQLite takes to
run it. The statements are plain SQL that SQLite and PostgreSQL both accept (unless their store
says otherwise), with `:name` parameters. Values are stored as the tables' SQLAlchemy types store
them, and read back as records typed as SQLAlchemy reads them: times as aware UTC, JSON parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar, overload

from sqlalchemy import JSON, Boolean, Connection, Table

from service.domain.records import Job, Notification, Remote, Repo, Rule
from service.store.tables import UTCDateTime, jobs, notifications, remotes, repos, rules

R = TypeVar("R")
_NAMED = re.compile(r"(?<![:\w]):(\w+)")
_TABLE_OF: dict[type, Table] = {Job: jobs, Repo: repos, Remote: remotes, Rule: rules, Notification: notifications}


class Sql(Generic[R]):
    """One statement, and the record each of its rows is (`returns`), if it gives rows of a table."""

    @overload
    def __init__(self: Sql[tuple[Any, ...]], text: str) -> None: ...

    @overload
    def __init__(self, text: str, returns: type[R]) -> None: ...

    def __init__(self, text: str, returns: type[R] | None = None):
        self.text = " ".join(text.split())
        self._pyformat = _NAMED.sub(r"%(\1)s", self.text)  # psycopg's parameter style
        self.returns = returns

    def run(self, conn: Connection, **params: Any) -> Any:
        """Execute inside `conn`'s transaction; the driver's cursor (fetchone/fetchall give tuples)."""
        sqlite = conn.dialect.name == "sqlite"
        for name, value in params.items():
            if isinstance(value, datetime):
                value = value.astimezone(UTC).replace(tzinfo=None)
                params[name] = value.isoformat(" ", "microseconds") if sqlite else value
            elif isinstance(value, (dict, list)):
                params[name] = json.dumps(value)
        driver: Any = conn.connection.driver_connection
        return driver.execute(self.text if sqlite else self._pyformat, params)

    def all(self, conn: Connection, **params: Any) -> list[R]:
        return self.later(conn, **params)()

    def one(self, conn: Connection, **params: Any) -> R | None:
        found = self.all(conn, **params)
        return found[0] if found else None

    def later(self, conn: Connection, **params: Any) -> Callable[[], list[R]]:
        """Send the statement now, read its rows when called (as records, or tuples for a
        statement that `returns` none): inside a write on PostgreSQL, statements sent one after
        another are answered together, in one round trip."""
        cursor = self.run(conn, **params)
        sqlite = conn.dialect.name == "sqlite"
        # SQLite answers at once, and cannot commit while a statement is left unread.
        fetched = cursor.fetchall() if sqlite else None

        def read() -> list[Any]:
            found = fetched if fetched is not None else cursor.fetchall()
            if not found or self.returns is None:
                return found  # type: ignore[no-any-return]
            names = tuple(d[0] for d in cursor.description)
            readers = _readers(_TABLE_OF[self.returns], names, sqlite)
            record = self.returns
            return [record(**{name: read(value) for name, read, value in zip(names, readers, row, strict=True)})
                    for row in found]

        return read


# What a job's end writes besides the job is written only if that end ended it: JobStore.end
# sends the job's own update first, which holds the job's row till the commit (no claim comes in
# between), and each write after it is made on this condition, in the same round trip. An end
# that finds the job claimed by another worker, or ended already, writes nothing.
ENDED_HERE = "EXISTS (SELECT 1 FROM jobs WHERE id = :job_id AND owner = :owner AND finished_at = :ended_at)"


class Ending(NamedTuple):
    """A job's end being recorded: the job, its owner's claim and the time it is recorded with."""

    job_id: int
    owner: str | None
    at: datetime

    def params(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "owner": self.owner, "ended_at": self.at}


class Guarded:
    """A statement run as is, or as part of a job's end (`ending`): only if ENDED_HERE. Its text
    has `{when}` where the condition goes."""

    def __init__(self, text: str):
        self.always = Sql(text.format(when="1 = 1"))
        self.if_ended = Sql(text.format(when=ENDED_HERE))

    def run(self, conn: Connection, ending: Ending | None, **params: Any) -> Any:
        if ending is None:
            return self.always.run(conn, **params)
        return self.if_ended.run(conn, **params, **ending.params())


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


def records(record: type[R], result: Any) -> list[R]:
    """The rows of a SQLAlchemy result (selecting every column of a table) as records."""
    return [record(**row) for row in result.mappings()]
