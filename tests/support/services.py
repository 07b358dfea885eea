"""Private PostgreSQL databases and Redis database numbers for tests; cleaned up afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from sqlalchemy import create_engine, text

POSTGRES_ADMIN = os.environ.get("GITFERRY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("GITFERRY_TEST_REDIS", "redis://127.0.0.1:6379")
# The tests' own Redis database; two checkouts tested at once each need one of their own, and so
# does each process of a parallel run (pytest-xdist's gw0 the first, gw1 the next).
REDIS_DB = int(os.environ.get("GITFERRY_TEST_REDIS_DB", "13")) + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; its URL is yielded and it is dropped afterwards."""
    name = f"gitferry_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def redis_database() -> Iterator[str]:
    """The tests' Redis database, flushed before and after; yields its URL."""
    url = f"{REDIS}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
