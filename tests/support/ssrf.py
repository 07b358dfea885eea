"""The SSRF corpus: remote URLs that lead to this machine or a private network, a listener that
counts whoever connects to 127.0.0.1 (and ::1), and a resolver with names that lead there.

    with Listener() as listener:
        for case in spellings(listener.port): ...
        assert listener.connections == 0
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["NAMES", "PUBLIC", "Listener", "Spelling", "fullwidth", "ideographic", "resolver", "spellings"]

PUBLIC = "93.184.215.14"  # never connected to: every name below that has it also has a local address
# What the test resolver answers; other names go to the system's resolver.
NAMES: dict[str, tuple[str, ...]] = {
    "ssrf.gitferry.test": ("127.0.0.1",),
    "127.0.0.1.nip.io": ("127.0.0.1",),  # as the wildcard DNS service answers
    "vm": ("127.0.0.1",),  # as an /etc/hosts entry would
    "v6.gitferry.test": ("::1",),
    "mapped.gitferry.test": ("::ffff:127.0.0.1",),
    "cgnat.gitferry.test": ("100.64.0.1",),
    "metadata.gitferry.test": ("169.254.169.254",),
    "mixed.gitferry.test": (PUBLIC, "127.0.0.1"),  # one local address among public ones is enough
}


def fullwidth(text: str) -> str:
    """`text` in fullwidth forms (U+FF01..U+FF5E), which NFKC, and so IDNA, turns back into ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def ideographic(text: str, stop: str = "\u3002") -> str:
    """`text` with ideographic full stops (or halfwidth ones, U+FF61) for dots, which IDNA reads as dots."""
    return text.replace(".", stop)


def resolver(names: dict[str, tuple[str, ...]] = NAMES) -> Any:
    """A socket.getaddrinfo that answers `names` itself."""

    def resolve(host: str, port: int, family: int = 0, kind: int = 0) -> list[tuple[Any, ...]]:
        if host not in names:
            return socket.getaddrinfo(host, port, family, kind)
        return [(socket.AF_INET6, kind, 6, "", (address, port, 0, 0)) if ":" in address
                else (socket.AF_INET, kind, 6, "", (address, port)) for address in names[host]]

    return resolve


@dataclass(frozen=True)
class Spelling:
    """A remote URL that must never be connected to while local remotes are off."""

    url: str
    code: str = "remote_not_allowed"  # the engine's GitError code for it
    by_name: bool = False  # local only once resolved: the API cannot tell, the engine refuses it
    # The code where git is started, if another: a URL read back from a clone's config has its
    # userinfo redacted, so only its host is judged there (git blocks a user starting with '-').
    connect_code: str | None = None


def spellings(port: int) -> list[Spelling]:
    """Every spelling, on `port` where the syntax has room for one (scp-like addresses have not)."""
    p = port
    odd = [fullwidth("127.0.0.1"), ideographic("127.0.0.1"), ideographic("127.0.0.1", "\uff61"),
           fullwidth("127") + ".0.0.1", fullwidth("localhost")]
    loopback = [
        f"https://127.0.0.1:{p}/x.git", f"https://%31%32%37.0.0.1:{p}/x.git",
        f"https://%31%32%37%2e%30%2e%30%2e%31:{p}/x.git", *[f"https://{host}:{p}/x.git" for host in odd],
        f"https://LocalHost:{p}/x.git", f"https://localhost.:{p}/x.git",
        f"https://a.localhost:{p}/x.git", f"https://2130706433:{p}/x.git", f"https://0x7f000001:{p}/x.git",
        f"https://0177.0.0.1:{p}/x.git", f"https://127.1:{p}/x.git", f"https://0x7f.1:{p}/x.git",
        f"https://0.0.0.0:{p}/x.git", f"https://0:{p}/x.git", f"https://[::1]:{p}/x.git", f"https://[::]:{p}/x.git",
        f"https://[0:0:0:0:0:0:0:1]:{p}/x.git", f"https://[::ffff:127.0.0.1]:{p}/x.git",
        f"https://[::ffff:7f00:1]:{p}/x.git", f"https://[::127.0.0.1]:{p}/x.git",
        f"https://[64:ff9b::127.0.0.1]:{p}/x.git", f"https://[2002:7f00:1::1]:{p}/x.git",
        f"ssh://git@127.0.0.1:{p}/x.git", f"ssh://git@%31%32%37.0.0.1:{p}/x.git",
        f"ssh+git://git@%31%32%37.0.0.1:{p}/x.git", f"git+ssh://git@%31%32%37.0.0.1:{p}/x.git",
        *[f"ssh://git@{host}:{p}/x.git" for host in odd], f"ssh://[::1]:{p}/x.git",
        "git@127.0.0.1:x.git", "git@%31%32%37.0.0.1:x.git", *[f"git@{host}:x.git" for host in odd],
        "[::1]:x.git", "git@[::1]:x.git", "git@localhost:x.git",
    ]
    private = [
        "https://100.64.0.1/x.git", "https://100.127.255.254/x.git", "git@100.64.0.1:x.git",
        "https://10.0.0.1/x.git", "https://172.16.0.1/x.git", "https://192.168.0.1/x.git",
        "https://169.254.169.254/latest", "https://[fd00:ec2::254]/latest", "https://[::ffff:169.254.169.254]/x",
        "https://[fe80::1]/x.git", "https://[fe80::1%25lo]/x.git", "https://[fc00::1]/x.git", "https://[fec0::1]/x.git",
        "https://224.0.0.1/x.git", "https://[ff02::1]/x.git", "https://240.0.0.1/x.git",
        "https://255.255.255.255/x.git", "https://198.18.0.1/x.git", "https://192.0.2.1/x.git",
    ]
    options = [  # git itself blocks these after decoding them; they never get that far
        f"ssh://-oProxyCommand=nc%20127.0.0.1%20{p}/x.git", f"ssh://%2DoProxyCommand=nc%20127.0.0.1%20{p}/x.git",
        f"ssh://git@-oProxyCommand=nc%20127.0.0.1%20{p}/x.git", "git@-oProxyCommand=x:y.git",
        "-oProxyCommand=x@github.com:y.git", "git@-oProxyCommand=x@github.com:y.git",
    ]
    users = [f"ssh://-oProxyCommand=x@127.0.0.1:{p}/x.git", f"ssh://%2doProxyCommand=x@127.0.0.1:{p}/x.git"]
    named = [f"https://{name}:{p}/x.git" for name in NAMES] + [
        f"ssh://git@vm:{p}/x.git", "git@vm:x.git", f"ssh+git://git@ssrf.gitferry.test:{p}/x.git"]
    return ([Spelling(url) for url in loopback + private]
            + [Spelling(url, "invalid") for url in options]
            + [Spelling(url, "invalid", connect_code="remote_not_allowed") for url in users]
            + [Spelling(f"http://127.0.0.1:{p}/x.git", "invalid"),  # http is for local remotes only
               Spelling(f"https://[%3a%3a1]:{p}/x.git", "invalid")]  # not an IPv6 address as written
            + [Spelling(url, by_name=True) for url in named])


class Listener:
    """Accepts and at once closes every connection to 127.0.0.1:<port> (and [::1]:<port> where
    this machine has IPv6), counting them."""

    def __init__(self) -> None:
        self.connections = 0
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Listener:
        first = socket.create_server(("127.0.0.1", 0))
        self.port: int = first.getsockname()[1]
        self._sockets.append(first)
        with contextlib.suppress(OSError):  # no IPv6 loopback here: nothing can connect to it either
            self._sockets.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
        for server in self._sockets:
            server.settimeout(0.05)
            thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        for server in self._sockets:
            server.close()
