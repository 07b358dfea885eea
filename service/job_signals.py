"""Telling whoever waits on a job (an API call with ?wait) that it ended, without polling.

A waiter polling the database every few milliseconds took CPU from the very git it waited
for (two cores). Workers now signal each job's end: over Redis pub/sub when Redis is the
broker, and with the embedded broker's doorbells otherwise. The database stays the truth: a
doorbell only says when to look, and a Redis signal carries the row the worker committed
before sending it (so the waiter need not read it back). A slow look-up every quarter second
covers a lost signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from service.embedded_broker import Doorbell, bell_dir, ring
from service.settings import Settings

log = logging.getLogger("gitferry.signals")
Wait = Callable[[float], bytes | None]  # returns what the signal carried, if anything


class JobSignals:
    def __init__(self, settings: Settings):
        self.prefix = f"{settings.queue}:job-ended:"
        self.redis: redis.Redis | None = None
        self.bells: Path | None = None
        if settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
            self.redis = redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2,
                                              health_check_interval=30)
        elif settings.embedded_broker:
            self.bells = bell_dir(settings.broker_url.removeprefix("sqla+"), suffix=".ended")
        self._listener: _RedisListener | None = None

    def ended(self, job_id: int, row: str | None = None) -> None:
        """Signal that job `job_id` ended (its row is committed); never raises. Over Redis the
        signal carries the ended `row` (JSON), so that a waiter need not read it back."""
        try:
            if self.redis is not None:
                self.redis.publish(f"{self.prefix}{job_id}", row or b"1")
            elif self.bells is not None:
                ring(self.bells, prefix=f"{job_id}-")
        except Exception as exc:  # waiters fall back to looking now and then
            log.debug("job_signal_failed job=%s error=%s", job_id, type(exc).__name__)

    @contextlib.contextmanager
    def listening(self, job_id: int) -> Iterator[Wait]:
        """Listen for the end of `job_id`; yields wait(seconds), which returns early on the signal.
        Listen first, then read the job: a signal sent in between is not missed."""
        if self.redis is not None:
            if self._listener is None or self._listener.pid != os.getpid():
                self._listener = _RedisListener(self.redis, self.prefix)
            with self._listener.waiting(job_id) as wait:
                yield wait
            return
        bell = None
        if self.bells is not None:
            with contextlib.suppress(OSError):
                bell = Doorbell(self.bells, name=f"{job_id}-{os.getpid()}")
        if bell is None:
            yield _sleep
            return
        try:
            yield bell.wait
        finally:
            bell.close()


class _RedisListener:
    """One pub/sub connection per process for all its waiters.

    A connection of its own for each ?wait cost a connect and a handshake per API call (redis-py
    drops a pub/sub's connection when it closes). A thread subscribed to every job's end
    instead wakes the waiters registered for the job it hears about.
    """

    def __init__(self, client: redis.Redis, prefix: str):
        self.client, self.prefix, self.pid = client, prefix, os.getpid()
        self._waiters: dict[int, set[_Waiter]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        threading.Thread(target=self._listen, name="gitferry-job-signals", daemon=True).start()

    @contextlib.contextmanager
    def waiting(self, job_id: int) -> Iterator[Wait]:
        # The first waiter of a process gives the thread a moment to subscribe; signals sent
        # before a waiter registers are not needed: it reads the job after registering.
        self._subscribed.wait(0.5)
        waiter = _Waiter()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(waiter)

        def wait(seconds: float) -> bytes | None:
            waiter.event.wait(seconds if self._subscribed.is_set() else min(seconds, 0.005))
            waiter.event.clear()  # the caller reads the job again either way
            carried, waiter.carried = waiter.carried, None
            return carried

        try:
            yield wait
        finally:
            with self._lock:
                found = self._waiters.get(job_id, set())
                found.discard(waiter)
                if not found:
                    self._waiters.pop(job_id, None)

    def _listen(self) -> None:
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(f"{self.prefix}*")
                pubsub.get_message(timeout=1.0)  # the subscription's confirmation
                self._subscribed.set()
                while True:
                    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message and message.get("type") == "pmessage":
                        self._wake(message["channel"], message["data"])
            except Exception as exc:  # Redis went away: waiters look now and then until it is back
                self._subscribed.clear()
                log.debug("job_signal_listener_down error=%s", type(exc).__name__)
                with contextlib.suppress(Exception):
                    pubsub.close()
                time.sleep(1.0)

    def _wake(self, channel: bytes, data: bytes) -> None:
        try:
            job_id = int(channel.decode()[len(self.prefix):])
        except ValueError:
            return
        with self._lock:
            for waiter in self._waiters.get(job_id, ()):
                waiter.carried = data if data != b"1" else None
                waiter.event.set()


class _Waiter:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.carried: bytes | None = None


def _sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.005))
