"""Hand-written SQL run on the driver's own connection, for the statements every webhook runs.

Building, caching and compiling a SQLAlchemy statement costs several times what SQLite takes to
run it; on the intake path that was most of a delivery's CPU. The few statements here are
plain SQL that SQLite and PostgreSQL both accept, with `:name` parameters. Values are stored
as the tables' SQLAlchemy types store them (tests read them back through SQLAlchemy): times as
naive UTC (on SQLite, text in SQLAlchemy's format), JSON as its text.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

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
