"""Wrong tokens limited per client address, so that tokens cannot be guessed at the web's speed.

Counted in memory by each web process: the two processes of `gitferry web` each let an address
send `limit` wrong tokens per window, so it may send up to twice that before both refuse it.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time

from werkzeug.wrappers import Request

MAX_ADDRESSES = 10_000  # counted at once; past it the oldest counts are dropped


def client_address(request: Request, proxy_hops: int) -> str:
    """Who sent the request: the connection's peer, or behind `proxy_hops` reverse proxies the
    address the outermost of them saw (X-Forwarded-For). Anyone can send the header, so it is
    read only where a setting says proxies set it; each proxy appends the address it saw."""
    if proxy_hops:
        forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(forwarded) >= proxy_hops and forwarded[-proxy_hops]:
            return forwarded[-proxy_hops]
    return request.remote_addr or ""


def _counted_as(address: str) -> str:
    """An IPv6 host usually holds a whole /64, so that is what is counted."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


class FailureLimit:
    """At most `limit` failures per address within `window` seconds of its first; then it waits
    out the window. `limit` 0: no limit."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[str, list[float]] = {}  # address -> [window start, failures], oldest first

    def retry_after(self, address: str) -> int:
        """Whole seconds until `address` may try again; 0 if it may now. Read without the lock:
        every request with a token asks, and a count read mid-update is off by one at most."""
        count = self._counts.get(_counted_as(address))
        if count is None or count[1] < self.limit:
            return 0
        return max(0, math.ceil(count[0] + self.window - time.monotonic()))

    def failed(self, address: str) -> None:
        if not self.limit:
            return
        key, now = _counted_as(address), time.monotonic()
        with self._lock:
            count = self._counts.get(key)
            if count is not None and now - count[0] < self.window:
                count[1] += 1
                return
            self._counts.pop(key, None)  # a new window goes to the end, with the newest
            if len(self._counts) >= MAX_ADDRESSES:
                self._forget(now)
            self._counts[key] = [now, 1]

    def _forget(self, now: float) -> None:
        """Drop the counts whose window ended; if that is not enough, the oldest half."""
        ended = [key for key, (start, _) in self._counts.items() if now - start >= self.window]
        if len(ended) < MAX_ADDRESSES // 2:
            ended = list(self._counts)[: MAX_ADDRESSES // 2]
        for key in ended:
            del self._counts[key]
