"""The embedded broker: kombu's database transport on SQLite, with a doorbell.

kombu's database transport finds new messages by polling. Each consumer (worker process)
binds a datagram socket in a folder beside the broker's database; whoever puts a message
rings every socket there, so a waiting worker takes the job at once rather than at its next
poll. Polling stays as the fallback (a socket that cannot be bound, a ring that is lost),
and the sweeper re-sends jobs whose message went missing altogether.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from queue import Empty
from time import monotonic, sleep
from typing import Any

from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import event
from sqlalchemy.engine import make_url

log = logging.getLogger("gitferry.broker")
POLL_WITH_BELL = 0.5  # seconds between polls when rings wake the worker
POLL_WITHOUT_BELL = 0.01


@lru_cache(maxsize=64)
def bell_dir(broker_db_url: str, suffix: str = ".bells") -> Path | None:
    """A folder of doorbells beside a broker database (None unless it is a SQLite file)."""
    url = make_url(broker_db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + suffix)


def ring(directory: Path | None, prefix: str = "") -> None:
    """Wake every process waiting in `directory` (those whose socket name starts with `prefix`);
    sockets of processes gone are removed."""
    if directory is None:
        return
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for name in names:
            if not name.startswith(prefix):
                continue
            path = os.path.join(directory, name)
            try:
                sock.sendto(b"!", path)
            except BlockingIOError:
                pass  # rings are waiting to be read there already: it will wake
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # nobody listens there any more
            except OSError:
                pass  # e.g. a path too long for a socket: that worker polls instead


class Doorbell:
    """One worker's socket: wait() returns when rung or after `timeout` seconds."""

    def __init__(self, directory: Path, name: str | None = None):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name or os.getpid()}-{id(self):x}.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(str(self.path))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)

    def wait(self, timeout: float) -> None:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if ready:
            with contextlib.suppress(BlockingIOError):
                while self.sock.recv(64):
                    pass

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def _broker_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Write-ahead log, no fsync per commit: an fsync cost more than the put itself.
    # A message lost to a power cut is re-sent by the sweeper from the job table.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class EmbeddedChannel(kombu_sqla.Channel):
    def _engine_from_config(self) -> Any:
        engine = super()._engine_from_config()
        event.listen(engine, "connect", _broker_pragmas)
        return engine

    # kombu's own _put and _get go through an ORM session: most of a message's CPU, paid
    # by every API call and webhook that queues a job and again by the worker taking it. The
    # same rows, written and taken with plain SQL on kombu's tables, cost a fraction of it.

    # (kombu's own base classes disagree on these signatures: no override can match them all)
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        with self._driver() as db:
            db.execute(f"INSERT INTO {self.message_tablename} (visible, payload, version, queue_id) "
                       "VALUES (1, ?, 1, ?)", (json.dumps(payload), self._queue_id(queue)))
        ring(bell_dir(self.connection.client.hostname))

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        table = self.message_tablename
        taken_at = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")
        with self._driver() as db:  # one statement: finding and hiding the message is atomic
            row = db.execute(
                f"UPDATE {table} SET visible = 0, timestamp = ?, version = version + 1 WHERE id = "
                f"(SELECT id FROM {table} WHERE queue_id = ? AND visible != 0 ORDER BY timestamp, id LIMIT 1) "
                "RETURNING payload", (taken_at, self._queue_id(queue))).fetchone()
        if row is None:
            raise Empty()
        return json.loads(row[0])

    @contextlib.contextmanager
    def _driver(self) -> Iterator[Any]:
        """The broker's SQLite connection; what is done with it is committed on leaving."""
        engine, _ = self._open()
        with engine.connect() as conn:
            db = conn.connection.driver_connection
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()

    def _queue_id(self, queue: str) -> int:
        ids: dict[str, int] = self.__dict__.setdefault("_queue_ids", {})
        if queue not in ids:
            ids[queue] = self._get_or_create(queue).id
            self.session.commit()
        return ids[queue]


class EmbeddedTransport(kombu_sqla.Transport):
    """kombu's database transport, woken by a doorbell instead of waiting for its next poll."""

    Channel = EmbeddedChannel
    polling_interval = POLL_WITHOUT_BELL
    _bell: Doorbell | None = None
    _bell_tried = False

    def _doorbell(self) -> Doorbell | None:
        if not self._bell_tried:
            self._bell_tried = True
            assert self.client is not None
            directory = bell_dir(self.client.hostname)
            try:
                self._bell = Doorbell(directory) if directory is not None else None
            except OSError as exc:
                log.warning("broker_doorbell_unavailable error=%s; polling every %ss", exc, POLL_WITHOUT_BELL)
        return self._bell

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        # kombu's loop (virtual.Transport.drain_events), waiting on the doorbell between polls.
        assert self.cycle is not None
        started = monotonic()
        bell = self._doorbell()
        interval = POLL_WITH_BELL if bell is not None else POLL_WITHOUT_BELL
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                waited = monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise TimeoutError() from None
                pause = interval if timeout is None else min(interval, timeout - waited)
                if bell is not None:
                    bell.wait(pause)
                else:
                    sleep(pause)

    def close_connection(self, connection: Any) -> None:
        if self._bell is not None:
            self._bell.close()
            self._bell = None
        super().close_connection(connection)
