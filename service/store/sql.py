"""Hand-written SQL run on the driver's own cursor, for the statements every webhook runs.

Building, caching and compiling a SQLAlchemy statement costs several times what SQLite takes to
run it; on the intake path that was most of a delivery's CPU. The few statements here are
plain SQL that SQLite and PostgreSQL both accept, with `:name` parameters; values pass through
the same bind processors SQLAlchemy would use, so what they write reads back the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Dialect

from service.store.tables import UTCDateTime

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
_Binder = Callable[[Any], Any]


class Sql:
    """One statement; `run(conn, **params)` executes it inside `conn`'s transaction and returns
    the driver's cursor (fetchone/fetchall give plain tuples)."""

    def __init__(self, text: str):
        self.text = " ".join(text.split())
        self._pyformat = _NAMED.sub(r"%(\1)s", self.text)  # psycopg's parameter style

    def run(self, conn: Connection, **params: Any) -> Any:
        dialect = conn.dialect
        time, json = _binders(dialect)
        for name, value in params.items():
            if isinstance(value, datetime):
                params[name] = time(value)
            elif isinstance(value, (dict, list)):
                params[name] = json(value)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(self.text if dialect.name == "sqlite" else self._pyformat, params)
        return cursor


_BINDERS: dict[str, tuple[_Binder, _Binder]] = {}


def _binders(dialect: Dialect) -> tuple[_Binder, _Binder]:
    found = _BINDERS.get(dialect.name)
    if found is None:
        found = _BINDERS[dialect.name] = (
            UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or _same,
            JSON().dialect_impl(dialect).bind_processor(dialect) or _same,
        )
    return found


def _same(value: Any) -> Any:
    return value
