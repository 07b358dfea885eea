"""A TCP proxy that relays what the server sends at a set rate: a git transfer that takes seconds,
so what a running job shows (its progress) can be watched."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

CHUNK = 8192


class SlowProxy:
    """Relays 127.0.0.1:<port> to `target`; the server's answers at `rate` bytes a second."""

    def __init__(self, target: tuple[str, int], rate: int):
        self.target = target
        self.rate = rate
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            threading.Thread(target=_relay, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=_relay, args=(upstream, client, self.rate), daemon=True).start()


def _relay(src: socket.socket, dst: socket.socket, rate: int | None) -> None:
    try:
        while data := src.recv(CHUNK):
            dst.sendall(data)
            if rate:
                time.sleep(len(data) / rate)  # the throttle itself: a pace, not a wait for a condition
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
