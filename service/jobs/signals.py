"""Telling whoever waits on a job (an API call with ?wait) that it ended, without polling.

A waiter polling the database every few milliseconds took CPU from the very git it waited
for (two cores). Workers now signal each job's end: through a short-lived Redis list per job
when Redis is the broker, and with the embedded broker's doorbells otherwise. The database
stays the truth: a doorbell only says when to look, and a Redis signal carries the job as the
worker committed it before sending it (Job.to_wire, so the waiter need not read it back). A slow look-up every
quarter second covers a lost signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from service.jobs.embedded_broker import Doorbell, bell_dir, ring
from service.settings import Settings

log = logging.getLogger("gitferry.signals")
SIGNAL_KEPT = 10  # seconds a job's end signal stays in Redis; a waiter looks at it within ms
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

    def ended(self, job_id: int, job: str | None = None) -> None:
        """Signal that job `job_id` ended (its end is committed); never raises. Over Redis the
        signal carries the ended `job` (Job.to_wire), so that a waiter need not read it back."""
        try:
            if self.redis is not None:
                key = f"{self.prefix}{job_id}"
                pipe = self.redis.pipeline(transaction=False)
                pipe.rpush(key, job or b"1")
                pipe.expire(key, SIGNAL_KEPT)
                pipe.execute()
            elif self.bells is not None:
                ring(self.bells, prefix=f"{job_id}-")
        except Exception as exc:  # waiters fall back to looking now and then
            log.debug("job_signal_failed job=%s error=%s", job_id, type(exc).__name__)

    @contextlib.contextmanager
    def listening(self, job_id: int) -> Iterator[Wait]:
        """Listen for the end of `job_id`; yields wait(seconds), which returns early on the signal.
        Listen first, then read the job: a signal sent in between is not missed."""
        if self.redis is not None:
            yield self._redis_wait(f"{self.prefix}{job_id}")
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

    def _redis_wait(self, key: str) -> Wait:
        """Wait on the job's list: the worker pushes the ended job onto it, kept SIGNAL_KEPT
        seconds. BLMOVE of the list onto itself hands the job over and leaves it there, so
        every waiter of the job gets it, and so does one that reads the job just before the
        end and waits just after. The waiting thread itself reads the answer: no listener
        thread to wake it, as a pub/sub subscription needed (one more thread hop)."""
        assert self.redis is not None
        client = self.redis
        heard = False

        def wait(seconds: float) -> bytes | None:
            nonlocal heard
            if heard:  # the signal stays in its list: waiting on it again would not wait
                time.sleep(min(seconds, 0.25))
                return None
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:  # at most a second per call: well within the client's socket timeout
                    carried = client.blmove(key, key, max(min(left, 1.0), 0.01), "RIGHT", "LEFT")  # type: ignore[arg-type]
                except redis.RedisError as exc:  # Redis away: the caller looks now and then
                    log.debug("job_signal_wait_failed error=%s", type(exc).__name__)
                    time.sleep(min(left, 0.25))
                    return None
                if carried is not None:
                    heard = True
                    return carried if carried != b"1" else None  # type: ignore[return-value]
            return None

        return wait


def _sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.005))
