"""Every HTTP request gitferry makes on its own (to a forge's API, to a notify receiver) connects
only where the remote allowlist lets git connect: the host is resolved when the connection is
made, refused if any of its addresses is local or private, and the socket goes to an address that
was checked, so DNS cannot answer differently between the check and the connection.

    with outbound.local_hosts(settings.allow_local_remotes):
        session = outbound.session()
        session.post(url, ...)   # requests.ConnectionError if the host is local; refusal(exc) says why

Forge clients that build their own sessions mount CheckedAdapter (service.forges.http does).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

from service.domain.validation import is_local_ip

# How names are resolved (a test resolves names of its own here).
resolve: Callable[..., list[Any]] = socket.getaddrinfo
_LOCAL_ALLOWED: ContextVar[bool] = ContextVar("gitferry_local_hosts_allowed", default=False)


@contextmanager
def local_hosts(allowed: bool) -> Iterator[None]:
    """Within the block, requests in this thread may (or may not) reach local and private hosts
    (GITFERRY_ALLOW_LOCAL_REMOTES). Outside any block they may not."""
    token = _LOCAL_ALLOWED.set(allowed)
    try:
        yield
    finally:
        _LOCAL_ALLOWED.reset(token)


class LocalHostRefused(NewConnectionError):
    """The host is, or resolves to, a local or private address: nothing was connected to."""

    def __init__(self, conn: Any, why: str):
        super().__init__(conn, why)
        self.why = why


def refusal(exc: BaseException) -> str | None:
    """Why a request was refused before connecting, if that is what `exc` (from requests) says."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        found = todo.pop()
        if found is None or id(found) in seen:
            continue
        seen.add(id(found))
        if isinstance(found, LocalHostRefused):
            return found.why
        todo += [getattr(found, "reason", None), found.__cause__, found.__context__,
                 *(arg for arg in getattr(found, "args", ()) if isinstance(arg, BaseException))]
    return None


def _checked(conn: Any, connect: Callable[[], socket.socket]) -> socket.socket:
    """conn's socket, opened to a checked address of its host (urllib3's _new_conn, guarded)."""
    host = conn.__dict__.setdefault("_gitferry_name", conn._dns_host)
    try:
        found = resolve(host, conn.port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise NameResolutionError(conn.host, conn, exc if isinstance(exc, socket.gaierror)
                                  else socket.gaierror(str(exc))) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found
                                   if info[0] in (socket.AF_INET, socket.AF_INET6)))
    for address in addresses:
        if _local(address) and not _LOCAL_ALLOWED.get():
            raise LocalHostRefused(conn, f"host {host!r} resolves to {address}, a local or private address; "
                                         "not allowed")
    failure: Exception = NewConnectionError(conn, f"no address for host {host!r}")
    for address in addresses:
        conn._dns_host = address  # the address connected to; TLS still checks the host's name
        try:
            return connect()
        except NewConnectionError as exc:
            failure = exc
    raise failure


def _local(address: str) -> bool:
    try:
        return is_local_ip(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return True


class _HTTP(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn)


class _HTTPS(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPS


class CheckedAdapter(HTTPAdapter):
    """requests' adapter, with connections made as this module says."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def session() -> requests.Session:
    """A session that connects only where allowed, ignores proxies and .netrc from the
    environment (they must not see a token), and never retries on its own."""
    made = requests.Session()
    made.trust_env = False
    adapter = CheckedAdapter(max_retries=0)
    made.mount("https://", adapter)
    made.mount("http://", adapter)
    return made
