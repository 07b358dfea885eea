"""Where a git call to a remote may connect: its host resolved once, refused if any address is
local, and git held to the addresses checked so that DNS cannot answer differently later."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from . import validate
from .errors import GitError
from .models import GitConfig
from .validate import Endpoint


@dataclass(frozen=True)
class Pin:
    """What a git call is given so it connects only to the addresses checked for it."""

    config: tuple[str, ...] = ()  # git -c options, before the subcommand
    ssh_options: tuple[str, ...] = ()  # added to GIT_SSH_COMMAND


UNPINNED = Pin()
# A redirect would send curl to a host nobody checked.
_NO_REDIRECTS = ("-c", "http.followRedirects=false")


def pin(config: GitConfig, url: str) -> Pin:
    """The Pin for a call to `url`; GitError remote_not_allowed if its host is or resolves to a
    local address and local hosts are not allowed."""
    if config.allow_local_hosts:
        return UNPINNED
    protocol = validate.url_protocol(url)
    if protocol == "file" or protocol not in config.allow_protocols:
        return UNPINNED  # no host, or a protocol git itself refuses (GIT_ALLOW_PROTOCOL)
    # A URL read back from a clone's config comes with its userinfo redacted (Runner): its user
    # was judged when the remote was added, and git itself blocks one that starts with '-'.
    endpoint = validate.remote_endpoint(url, allow_local_hosts=False)
    if endpoint is None:
        raise GitError("remote_not_allowed", f"where a {protocol} remote connects cannot be checked; not allowed")
    addresses = _checked_addresses(config, endpoint)
    if endpoint.protocol == "ssh":
        return Pin(ssh_options=ssh_options(endpoint, addresses[0]))
    if ":" in endpoint.host:  # an IPv6 address: curl has nothing to resolve
        return Pin(config=_NO_REDIRECTS)
    return Pin(config=("-c", f"http.curloptResolve={curl_resolve(endpoint, addresses)}", *_NO_REDIRECTS))


def curl_resolve(endpoint: Endpoint, addresses: list[str]) -> str:
    """A CURLOPT_RESOLVE entry: curl connects to `addresses` for the endpoint's host and port."""
    listed = ",".join(f"[{address}]" if ":" in address else address for address in addresses)
    return f"{endpoint.host}:{endpoint.port}:{listed}"


def ssh_options(endpoint: Endpoint, address: str) -> tuple[str, ...]:
    """ssh options to connect to `address` (ssh resolves nothing then), with host keys looked up
    under the host's name as ssh would without them."""
    alias = endpoint.host if endpoint.port == 22 else f"[{endpoint.host}]:{endpoint.port}"
    return ("-o", f"HostName={address}", "-o", f"HostKeyAlias={alias}")


def _checked_addresses(config: GitConfig, endpoint: Endpoint) -> list[str]:
    """Every address of the endpoint's host, first as the resolver ranks them; GitError if there
    is none or any is local."""
    try:
        found = config.resolve(endpoint.host, endpoint.port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise GitError("network", f"the remote could not be reached: could not resolve host {endpoint.host!r}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found if info[0] in (socket.AF_INET, socket.AF_INET6)))
    if not addresses:
        raise GitError("network", f"the remote could not be reached: no address for host {endpoint.host!r}")
    for address in addresses:
        if _is_local_address(address):
            raise GitError("remote_not_allowed",
                           f"host {endpoint.host!r} resolves to {address}, a local or private address; not allowed")
    return addresses


def _is_local_address(address: str) -> bool:
    try:
        return validate.is_local_ip(ipaddress.ip_address(address))
    except ValueError:  # not an address at all: nothing to connect to that was checked
        return True
