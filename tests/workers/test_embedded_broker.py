"""The embedded broker's doorbell: a put wakes waiting workers at once; dead workers' sockets go."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from service.jobs.embedded_broker import Doorbell, bell_dir, ring


def test_bells_live_beside_a_sqlite_broker_only(tmp_path: Path) -> None:
    assert bell_dir(f"sqlite:///{tmp_path}/broker.sqlite") == Path(f"{tmp_path}/broker.sqlite.bells")
    assert bell_dir("sqlite://") is None
    assert bell_dir("postgresql://db/x") is None


def test_a_ring_wakes_every_waiting_worker(tmp_path: Path) -> None:
    bells = [Doorbell(tmp_path / "bells"), Doorbell(tmp_path / "bells")]
    woke: list[float] = []

    def wait(bell: Doorbell) -> None:
        started = time.monotonic()
        bell.wait(30)
        woke.append(time.monotonic() - started)

    threads = [threading.Thread(target=wait, args=(b,)) for b in bells]
    for t in threads:
        t.start()
    time.sleep(0.1)
    ring(tmp_path / "bells")
    for t in threads:
        t.join(10)
    assert len(woke) == 2 and max(woke) < 10  # woken by the ring, not by the 30 s timeout
    for bell in bells:
        bell.close()
    assert list((tmp_path / "bells").iterdir()) == []


def test_a_ring_before_the_wait_is_not_lost(tmp_path: Path) -> None:
    bell = Doorbell(tmp_path / "bells")
    ring(tmp_path / "bells")
    started = time.monotonic()
    bell.wait(30)
    assert time.monotonic() - started < 10
    bell.close()


def test_sockets_of_workers_gone_are_removed(tmp_path: Path) -> None:
    directory = tmp_path / "bells"
    directory.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(directory / "999999-dead.sock"))
    dead.close()  # bound, then its worker died without cleaning up
    ring(directory)
    assert list(directory.iterdir()) == []
    ring(tmp_path / "no-such-folder")  # nothing listens yet: fine
