"""Reads of a clone (commits, comparisons): asked of the worker that holds it, answered at once.

A clone lives on the worker of its repo's shard, so a read is a task on that shard's queue,
like a job; but a read is not a job: nothing is recorded, it is not retried, it takes no lock.
The web listens for the answer first, then sends the read; the worker runs git and hands the
answer back the way job ends reach waiters (signals.py): pushed onto a Redis list that the
web waits on, or, with the embedded broker, written to a file beside the broker's database
with a ring of the asker's doorbell. A read not answered in time (no worker, a broker away, a
backlog of jobs ahead of it) raises ReadUnanswered, which the API answers 503 with Retry-After;
it expires in the queue then, so a worker that comes back does not run reads nobody waits for.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis
from celery import Celery

from service.jobs.celery_app import READ
from service.jobs.embedded_broker import Doorbell, bell_dir, ring
from service.settings import Settings

log = logging.getLogger("gitferry.reads")
ANSWER_KEPT = 30  # seconds an answer stays in Redis when nobody took it (the asker gave up)
Answer = dict[str, Any]  # {"ok": ...} or {"error": {"code": ..., "message": ...}}; JSON on the wire


class ReadUnanswered(Exception):
    """No worker answered the read in time."""


class Reads:
    def __init__(self, celery: Celery, settings: Settings):
        self.celery = celery
        self.settings = settings
        self.prefix = f"{settings.queue}:read:"
        self.redis: redis.Redis | None = None
        self.answers: Path | None = None
        self.bells: Path | None = None
        if settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
            self.redis = redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2,
                                              health_check_interval=30)
        elif settings.embedded_broker:
            broker_db = settings.broker_url.removeprefix("sqla+")
            self.bells = bell_dir(broker_db, suffix=".reads")
            self.answers = bell_dir(broker_db, suffix=".read-answers")

    def ask(self, repo_id: int, kind: str, params: dict[str, Any], timeout: float | None = None) -> Answer:
        """Send read `kind` to the worker of the repo's shard and wait for its answer;
        ReadUnanswered after `timeout` seconds (settings.read_timeout by default)."""
        seconds = self.settings.read_timeout if timeout is None else timeout
        read_id = uuid.uuid4().hex[:16]  # short: it names a socket, whose path has a limit
        with self._listening(read_id) as wait:
            try:
                self.celery.send_task(READ, args=[read_id, repo_id, kind, params],
                                      queue=self.settings.queue_for(repo_id), expires=seconds)
            except Exception as exc:  # broker down: the caller tries again later
                log.warning("read_send_failed kind=%s error=%s", kind, type(exc).__name__)
                raise ReadUnanswered() from exc
            answer = wait(seconds)
        if answer is None:
            raise ReadUnanswered()
        found: Answer = json.loads(answer)
        return found

    def answer(self, read_id: str, answer: Answer) -> None:
        """Hand the answer to whoever asked (the worker's side); never raises."""
        text = json.dumps(answer)
        try:
            if self.redis is not None:
                key = f"{self.prefix}{read_id}"
                pipe = self.redis.pipeline(transaction=False)
                pipe.rpush(key, text)
                pipe.expire(key, ANSWER_KEPT)
                pipe.execute()
            elif self.answers is not None and self._asked(read_id):
                self.answers.mkdir(parents=True, exist_ok=True)
                part = self.answers / f"{read_id}.part"
                part.write_text(text)
                os.replace(part, self.answers / f"{read_id}.json")  # whole, or not there
                ring(self.bells, prefix=f"{read_id}-")
        except Exception as exc:  # the asker answers 503 once its wait runs out
            log.warning("read_answer_failed read=%s error=%s", read_id, type(exc).__name__)

    def _asked(self, read_id: str) -> bool:
        """Whether the asker still waits (its doorbell is there): no answer is left behind."""
        with contextlib.suppress(OSError):
            return any(name.startswith(f"{read_id}-") for name in os.listdir(self.bells or "."))
        return False

    @contextlib.contextmanager
    def _listening(self, read_id: str) -> Iterator[Callable[[float], str | bytes | None]]:
        if self.redis is not None:
            yield self._redis_wait(f"{self.prefix}{read_id}")
        elif self.answers is not None and self.bells is not None:
            with self._file_wait(read_id) as wait:
                yield wait
        else:
            yield lambda seconds: None  # no way back from a worker: the read is never answered

    def _redis_wait(self, key: str) -> Callable[[float], str | bytes | None]:
        assert self.redis is not None
        client = self.redis

        def wait(seconds: float) -> str | bytes | None:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:  # at most a second per call: well within the client's socket timeout
                    found = client.blpop([key], max(min(left, 1.0), 0.01))
                except redis.RedisError as exc:
                    log.warning("read_wait_failed error=%s", type(exc).__name__)
                    return None
                if found is not None:
                    return found[1]
            return None

        return wait

    @contextlib.contextmanager
    def _file_wait(self, read_id: str) -> Iterator[Callable[[float], str | None]]:
        assert self.answers is not None and self.bells is not None
        path = self.answers / f"{read_id}.json"
        bell: Doorbell | None = None
        with contextlib.suppress(OSError):
            bell = Doorbell(self.bells, name=read_id)

        def wait(seconds: float) -> str | None:
            deadline = time.monotonic() + seconds
            while True:
                with contextlib.suppress(FileNotFoundError):
                    return path.read_text()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if bell is not None:  # a lost ring costs at most a quarter second
                    bell.wait(min(left, 0.25))
                else:
                    time.sleep(min(left, 0.005))

        try:
            yield wait
        finally:
            if bell is not None:
                bell.close()
            with contextlib.suppress(OSError):
                path.unlink()
