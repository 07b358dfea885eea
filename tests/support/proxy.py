"""TCP proxies that make a server hang or crawl on purpose: one holds new connections until released
(a git transfer that hangs) and can relay the server's answers at a set rate (a transfer that takes
seconds, so a running job's progress can be watched); one relays until told to black-hole (a database
that stops answering)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class HoldingProxy:
    """Accepts on 127.0.0.1:<port> and relays to `target` once `release()` is called; the server's
    answers at `rate` bytes a second when given (a transfer that takes seconds)."""

    def __init__(self, target: tuple[str, int], port: int = 0, rate: int | None = None):
        self.target = target
        self.rate = rate
        self.released = threading.Event()
        self.connected = threading.Event()
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self._stop = True
        self.released.set()
        self.server.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connected.set()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self.released.wait()
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pipe, args=(upstream, client, self.rate), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket, rate: int | None = None) -> None:
    """Relay until either side closes; at most `rate` bytes a second when given."""
    try:
        while data := src.recv(8192 if rate else 65536):
            dst.sendall(data)
            if rate:
                time.sleep(len(data) / rate)  # the throttle itself: a pace, not a wait for a condition
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class FaultProxy:
    """Relays 127.0.0.1:<port> to `target` until black_hole(): from then on it accepts
    connections and swallows whatever either side sends, on new connections and open ones alike,
    as a hung server does. relay() closes every connection that lost bytes (their protocol
    state is gone) and relays new ones again."""

    def __init__(self, target: tuple[str, int], port: int = 0):
        self.target = target
        self.holing = False
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def black_hole(self) -> None:
        self.holing = True

    def relay(self) -> None:
        with self._lock:
            self.holing = False
            spoiled = [link for link in self._links if link.spoiled]
        for link in spoiled:
            self._drop(link)

    def close(self) -> None:
        self.server.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            self._drop(link)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            link = _Link(client)
            with self._lock:
                self._links.add(link)
                link.spoiled = self.holing  # accepted, and never answered
            if link.spoiled:
                continue
            try:
                link.upstream = socket.create_connection(self.target)
            except OSError:
                self._drop(link)
                continue
            for src, dst in ((link.client, link.upstream), (link.upstream, link.client)):
                threading.Thread(target=self._pipe, args=(link, src, dst), daemon=True).start()

    def _pipe(self, link: _Link, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.holing or link.spoiled:
                    link.spoiled = True
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(link)

    def _drop(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)
        for s in (link.client, link.upstream):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


class _Link:
    def __init__(self, client: socket.socket):
        self.client = client
        self.upstream: socket.socket | None = None
        self.spoiled = False
