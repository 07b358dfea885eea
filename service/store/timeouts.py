"""Time limits on PostgreSQL: a server that accepts connections and never answers must not hold
every thread that asks it something.

The driver gives up connecting after the connect timeout, and the server cancels a statement
that runs past the statement timeout. Neither helps once the server (or the network on the way)
stops answering a connection already open: the driver would wait on its socket forever. So a
watchdog cuts off a connection whose transaction outlives its deadline (the statement timeout
and a little, so that the server's own cancel comes first when it can): the waiting driver sees
a lost connection, and the store raises DatabaseUnavailable.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import suppress
from typing import Any

from sqlalchemy.exc import OperationalError

TICK = 0.25  # seconds between the watchdog's looks: a connection is cut at most this late
GRACE = 1.0  # seconds past the statement timeout before the watchdog cuts: the server cancels first


def unanswered(exc: BaseException) -> bool:
    """Whether `exc` says that the database did not answer (could not be reached, lost the
    connection, or ran out of time) rather than that it refused the work: the same work again, at
    once or alone, would only wait as long again. Client-side failures carry no SQLSTATE; the
    server's own are classes 08 (connection) and 57 (cancelled, shutting down)."""
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    return state is None or str(state).startswith(("08", "57"))


class NoAnswer(OperationalError):
    """A connection was cut off for want of an answer: another would wait as long."""


class Watchdog:
    """One thread per process that cuts off the connections it watches once their deadline has
    passed. Watching and letting go cost a lock and a dict entry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, Any]] = {}  # id(driver connection) -> (deadline, it)
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget)

    def watch(self, driver: Any, seconds: float) -> None:
        """Cut `driver` (a psycopg connection) off if it is still watched in `seconds`."""
        with self._lock:
            self._watched[id(driver)] = (time.monotonic() + seconds, driver)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gitferry-db-watchdog", daemon=True)
                self._thread.start()

    def let_go(self, driver: Any) -> bool:
        """Stop watching `driver`; False if it was cut off already."""
        with self._lock:
            return self._watched.pop(id(driver), None) is not None

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            now = time.monotonic()
            with self._lock:  # held while cutting: the owner cannot let go and close meanwhile
                late = [key for key, (deadline, _) in self._watched.items() if deadline <= now]
                for key in late:
                    _cut(self._watched.pop(key)[1])

    def _forget(self) -> None:
        """In a forked child: the parent's connections and thread are not this process's."""
        self._lock = threading.Lock()
        self._watched = {}
        self._thread = None


def _cut(driver: Any) -> None:
    """Shut the connection's socket down; the driver waiting on it wakes to a lost connection.
    Through a duplicate of its descriptor: the driver's own stays open until the driver closes
    it, so that its number cannot be reused by another socket meanwhile."""
    with suppress(Exception):
        if driver.closed:
            return
        with socket.socket(fileno=os.dup(driver.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()
