"""Work from many threads committed together: group commit, as databases do for their own log.

One SQLite write transaction at a time is all there is anyway; under a burst of webhooks,
each delivery paying its own lock, BEGIN and COMMIT (and each thread waking the next) cost
more than its statements.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from service.store.timeouts import unanswered

Item = TypeVar("Item")
Result = TypeVar("Result")
T = TypeVar("T")


class Batcher(Generic[Item, Result]):
    """Items from many threads handled in batches: a thread that finds no batch under way hands
    everything queued so far to `handle`, and the others wait for it.

    `handle(slots)` sets each slot's value or error. Each waiting thread sleeps on its own slot
    and is woken once: when the batch that carried its item ended, or to lead the next batch
    (the first thread that queued while one was under way). A shared lock or condition that
    every waiter had to take again on waking had cost each batch a chain of wake-ups.
    """

    def __init__(self, handle: Callable[[list[Slot[Item, Result]]], None]):
        self._handle = handle
        self._queued: list[Slot[Item, Result]] = []
        self._lock = threading.Lock()
        self._busy = False

    def run(self, item: Item) -> Result:
        mine: Slot[Item, Result] = Slot(item)  # (subscripting the class at run time costs a call per item)
        with self._lock:
            self._queued.append(mine)
            leads = not self._busy
            self._busy = True
        if not leads:
            mine.wake.acquire()  # released by _end(): handled, or this one leads the next batch
        if not mine.done:
            with self._lock:
                batch, self._queued = self._queued, []
            try:
                self._handle(batch)
            except Exception as exc:
                for slot in batch:
                    if slot.error is None and not slot.has_value:
                        slot.error = exc
            finally:
                self._end(batch, mine)
        if mine.error is not None:
            raise mine.error
        return mine.value  # type: ignore[return-value]

    def _end(self, batch: list[Slot[Item, Result]], mine: Slot[Item, Result]) -> None:
        for slot in batch:
            if slot.error is None and not slot.has_value:  # the batch was cut short
                slot.error = RuntimeError("the batch ended without handling this item")
            slot.done = True
            if slot is not mine:
                slot.wake.release()
        with self._lock:
            if self._queued:
                self._queued[0].wake.release()  # it leads the next batch (_busy stays set)
            else:
                self._busy = False


class Slot(Generic[Item, Result]):
    """One thread's item in a Batcher, and what handling it gave."""

    def __init__(self, item: Item):
        self.item = item
        self.value: Result | None = None
        self.has_value = False
        self.error: Exception | None = None
        self.done = False
        self.wake = threading.Lock()
        self.wake.acquire()

    def set(self, value: Result) -> None:
        self.value, self.has_value, self.error = value, True, None

    def fail(self, error: Exception) -> None:
        self.value, self.has_value, self.error = None, False, error


Work = Callable[[Connection], Any]
WriteBatch = Callable[[Callable[[Connection], None]], None]  # runs its argument in one write transaction


class GroupCommit:
    """Works from many threads (each `work(conn)`), each batch run in one write transaction.

    If any work of a shared transaction fails, each is run again in a transaction of its own:
    a work must only touch the database through `conn` and be safe to run again. Unless the
    database did not answer: then all fail at once, rather than each waiting as long again.
    """

    def __init__(self, write: WriteBatch):
        self._write = write
        self._batcher: Batcher[Work, Any] = Batcher(self._commit)

    def run(self, work: Callable[[Connection], T]) -> T:
        return self._batcher.run(work)  # type: ignore[no-any-return]

    def _commit(self, batch: list[Slot[Work, Any]]) -> None:
        try:
            self._write(lambda conn: _run(batch, conn))
            return
        except Exception as exc:
            if len(batch) == 1 or unanswered(exc):
                for slot in batch:
                    slot.fail(exc)
                return
        for slot in batch:  # one failed and took the others down: each on its own now
            try:
                self._write(lambda conn, alone=[slot]: _run(alone, conn))  # type: ignore[misc]
            except Exception as exc:
                slot.fail(exc)


def _run(batch: list[Slot[Work, Any]], conn: Connection) -> None:
    for slot in batch:
        slot.set(slot.item(conn))
