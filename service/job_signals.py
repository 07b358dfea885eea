"""Telling whoever waits on a job (an API call with ?wait) that it ended, without polling.

A waiter polling the database every few milliseconds took CPU from the very git it waited
for (two cores). Workers now signal each job's end: over Redis pub/sub when Redis is the
broker, and with the embedded broker's doorbells otherwise. A waiter still reads the job
from the database, which stays the truth; the signal only says when to look, and a slow
look-up every quarter second covers a lost signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from service.embedded_broker import Doorbell, bell_dir, ring
from service.settings import Settings

log = logging.getLogger("gitferry.signals")
Wait = Callable[[float], None]


class JobSignals:
    def __init__(self, settings: Settings):
        self.prefix = f"{settings.queue}:job-ended:"
        self.redis: redis.Redis | None = None
        self.bells: Path | None = None
        if settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
            self.redis = redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2)
        elif settings.embedded_broker:
            self.bells = bell_dir(settings.broker_url.removeprefix("sqla+"), suffix=".ended")

    def ended(self, job_id: int) -> None:
        """Signal that job `job_id` ended (its row is committed); never raises."""
        try:
            if self.redis is not None:
                self.redis.publish(f"{self.prefix}{job_id}", b"1")
            elif self.bells is not None:
                ring(self.bells, prefix=f"{job_id}-")
        except Exception as exc:  # waiters fall back to looking now and then
            log.debug("job_signal_failed job=%s error=%s", job_id, type(exc).__name__)

    @contextlib.contextmanager
    def listening(self, job_id: int) -> Iterator[Wait]:
        """Listen for the end of `job_id`; yields wait(seconds), which returns early on the signal.
        Listen first, then read the job: a signal sent in between is not missed."""
        if self.redis is not None:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(f"{self.prefix}{job_id}")
            except redis.RedisError:
                yield _sleep
                return
            try:
                yield lambda seconds: _redis_wait(pubsub, seconds)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()
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


def _redis_wait(pubsub: redis.client.PubSub, seconds: float) -> None:
    try:
        pubsub.get_message(timeout=seconds)
    except redis.RedisError:
        _sleep(seconds)


def _sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.005))
