"""Checks on every name and URL from outside, done before git sees them."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import GitError
from .models import Credential

_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_REMOTE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_HEX = re.compile(r"[0-9a-f]{4,64}")
_PSEUDO_REF = re.compile(r"[A-Z_]*HEAD")
_DISGUISING = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")  # bidirectional overrides and marks
_RESERVED_REMOTES = frozenset({"head", "refs", "fetch_head", "orig_head", "merge_head"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)(://|::)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The host rules below are the web's too (service/domain/validation.py); the engine may import
# nothing of ours, and tests/workers/test_validation_agree.py holds the two to the same answers.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\[\]]*)@)?(?P<host>\[[^\]/@]*\]|[^:/@\[\]]+):(?P<path>.+)$")
_HOST_CHARS = re.compile(r"^[a-z0-9_.-]+\Z")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, which is_private leaves out
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # leads to the IPv4 address in its low 32 bits
DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22}
# A loose ref is a file: each part of its name is a file or folder name (NAME_MAX bytes, and the
# last part gets ".lock" while git writes it), the whole a path (PATH_MAX 4096, with the clone's
# own path and refs/remotes/<remote>/ in front: 4000 bytes leave room for those).
NAME_MAX = 255
REF_MAX = 4000


def _invalid(message: str) -> GitError:
    return GitError("invalid", message)


def refname_ok(refname: str) -> bool:
    """git's check_refname_format rules (refs.c), without git's one-level exception."""
    if not refname or refname.startswith("/") or refname.endswith(("/", ".")):
        return False
    if "//" in refname or ".." in refname or "@{" in refname or refname == "@":
        return False
    if _BAD_REF_CHARS.search(refname):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock") for part in refname.split("/"))


def branch_name(name: str, what: str = "branch") -> str:
    """Validate a short branch name (local or on a remote); return it unchanged."""
    if not isinstance(name, str) or not name:
        raise _invalid(f"{what} name is empty")
    if name.startswith("-"):
        raise _invalid(f"{what} name {name!r} must not start with '-'")
    # "refs/..." would create refs/heads/refs/...; "HEAD" and "@" mean HEAD to git, and git's
    # pseudo-refs (FETCH_HEAD, ...) shadow a branch of their name.
    if name in ("HEAD", "@") or name.startswith("refs/") or _PSEUDO_REF.fullmatch(name):
        raise _invalid(f"{what} name {name!r} is not allowed")
    problem = too_long(name)
    if problem:
        raise _invalid(f"{what} name {name[:80]!r} is too long for git to store: {problem}")
    if _DISGUISING.search(name):
        raise _invalid(f"{what} name {name!r} holds a character that changes how it is displayed")
    if not refname_ok("refs/heads/" + name):
        raise _invalid(f"{what} name {name!r} is not a valid git branch name")
    return name


def too_long(name: str) -> str | None:
    """Why git could not keep a branch `name` as a file, or None: a part over 255 bytes (250
    for the last, which gets ".lock" while git writes it), or the whole over 4000 bytes."""
    encoded = name.encode("utf-8", "surrogatepass")
    parts = encoded.split(b"/")
    if any(len(part) > NAME_MAX for part in parts) or len(parts[-1]) > NAME_MAX - len(".lock"):
        return "a part of the name is over 255 bytes, or the last part over 250"
    if len(encoded) > REF_MAX:
        return "the name is over 4000 bytes"
    return None


def start_point(value: str) -> str:
    """Validate a start point: a sha, a branch or `<remote>/<branch>`, or a full
    refs/heads/<branch> or refs/remotes/<remote>/<branch>; return it unchanged."""
    if isinstance(value, str) and is_hex(value):
        return value
    if isinstance(value, str) and value.startswith("refs/heads/"):
        branch_name(value[len("refs/heads/") :], "start point")
    elif isinstance(value, str) and value.startswith("refs/remotes/"):
        remote, _, branch = value[len("refs/remotes/") :].partition("/")
        remote_name(remote)
        branch_name(branch, "start point")
    else:
        branch_name(value, "start point")
    return value


def remote_name(name: str) -> str:
    """Validate a remote name: letters, digits, '.', '_', '-'; no '/' so refs stay unambiguous."""
    if not isinstance(name, str) or not name:
        raise _invalid("remote name is empty")
    if name.startswith("-"):
        raise _invalid(f"remote name {name!r} must not start with '-'")
    if not _REMOTE_NAME.fullmatch(name) or ".." in name or name.endswith(".lock"):
        raise _invalid(f"remote name {name!r} is not allowed (use letters, digits, '.', '_' and '-')")
    if name.lower() in _RESERVED_REMOTES:  # refs/remotes/refs/... and HEAD-like names read ambiguously
        raise _invalid(f"remote name {name!r} is not allowed: git gives it a meaning of its own")
    return name


def sha(value: str) -> str:
    """Validate a full or abbreviated lowercase hex object name."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise _invalid(f"{value!r} is not a commit sha")
    return value


def is_hex(value: str) -> bool:
    return bool(_HEX.fullmatch(value))


def url_protocol(url: str) -> str:
    """The transport git would use for `url`: a scheme, 'ssh' for scp-like, 'file' for paths."""
    match = _SCHEME.match(url)
    if match:
        scheme = match.group(1).lower()
        return "ssh" if scheme in ("git+ssh", "ssh+git") else scheme
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash < 0 or colon < slash):
        return "ssh"
    return "file"


def remote_url(url: str, allow_protocols: tuple[str, ...], *, allow_local_hosts: bool = False) -> str:
    """Validate a remote URL: allowed protocol, no option look-alike, no password inside, a host
    written as it is read and, unless allowed, not local."""
    if not isinstance(url, str) or not url.strip():
        raise _invalid("remote URL is empty")
    if url.startswith("-") or _CONTROL.search(url):
        raise _invalid("remote URL is not allowed")
    protocol = url_protocol(url)
    if protocol not in allow_protocols:
        raise _invalid(f"remote URL protocol {protocol!r} is not allowed (allowed: {', '.join(allow_protocols)})")
    remote_endpoint(url, allow_local_hosts=allow_local_hosts)  # first: it reads the URL or says why not
    if "://" in url and ":" in urlsplit(url).netloc.rpartition("@")[0]:
        raise _invalid("remote URL must not contain a password; configure a credential")
    return url


@dataclass(frozen=True)
class Endpoint:
    """Where a remote URL connects: its protocol, its host as a resolver is given it, its port."""

    protocol: str
    host: str
    port: int


def remote_endpoint(url: str, *, allow_local_hosts: bool) -> Endpoint | None:
    """Where `url` connects (None unless over http, https or ssh), once its user and host pass:
    no leading '-', written as a resolver reads it and, unless allowed, not local."""
    protocol = url_protocol(url)
    if protocol not in DEFAULT_PORTS:
        return None
    user, host, port = _user_host_port(url)
    if unquote(user).startswith("-") or unquote(host).startswith("-"):
        raise _invalid("remote URL user and host must not start with '-'")
    if not host:
        raise _invalid("remote URL has no host")
    name = normal_host(host)
    if not allow_local_hosts and _is_local_name(name):
        raise GitError("remote_not_allowed", f"host {host[:80]!r} is local or private; not allowed")
    # curl and ssh each decode a host their own way: only a host written as it is read is sure
    # to be the one the engine checked and pinned.
    if "%" in host or (":" not in name and name != host.lower()):
        shown = f"[{name}]" if ":" in name else name
        raise _invalid(f"write the remote URL's host as {shown!r}")
    return Endpoint(protocol, name, port or DEFAULT_PORTS[protocol])


def _user_host_port(url: str) -> tuple[str, str, int | None]:
    """User, host (both as written) and port of a URL or scp-like address."""
    if _SCHEME.match(url):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:  # "https://[::1", "https://host:99999"
            raise _invalid("remote URL is not a valid URL") from exc
        # One '@' and no '\\': where URL parsers disagree on the host, git's might not be the one checked.
        if parts.netloc.count("@") > 1 or "\\" in parts.netloc:
            raise _invalid("remote URL has more than one '@' or a '\\' before its path")
        return parts.username or "", parts.hostname or "", port
    match = _SCP_LIKE.match(url)
    if match is None:
        raise _invalid("remote URL has no host that can be read")
    return match.group("user") or "", match.group("host"), None


def normal_host(host: str) -> str:
    """`host` as a resolver is given it: percent-decoded, IDNA-encoded and lowercase (an IPv6
    address without brackets); GitError invalid if it has no such form."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        name = unquote(name, errors="strict")
        if ":" in name:
            return str(ipaddress.IPv6Address(name))
        # The IDNA codec maps fullwidth digits and ideographic full stops as a UTF-8 resolver would.
        name = name.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError) as exc:
        raise _invalid(f"host {host[:80]!r} is not a valid host name") from exc
    if not _HOST_CHARS.match(name):
        raise _invalid(f"host {host[:80]!r} is not a valid host name")
    return name


def _is_local_name(name: str) -> bool:
    name = name.rstrip(".")
    if name in _LOCAL_NAMES or name.endswith((".localhost", ".local")):
        return True
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(name)
    except ValueError:
        try:  # forms git's resolver also reads as IPv4: 2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1
            ip = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False
    return is_local_ip(ip)


def is_local_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True unless `ip` is a public unicast address. IPv4-mapped and NAT64 addresses are judged by
    the IPv4 address they lead to; a 6to4 one is local if its IPv4 address is; IPv4-compatible
    ones (::a.b.c.d) are reserved."""
    if isinstance(ip, ipaddress.IPv6Address):
        leads_to = ip.ipv4_mapped or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if leads_to is not None:
            return is_local_ip(leads_to)
        if ip.is_site_local or (ip.sixtofour is not None and is_local_ip(ip.sixtofour)):
            return True
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_reserved
            or ip.is_multicast or ip in _SHARED or not ip.is_global)


def url_host(url: str) -> str | None:
    """Lowercased host or host:port of a URL (no userinfo): the key for credentials."""
    if "://" in url:
        netloc = urlsplit(url).netloc.rpartition("@")[2]
        return netloc.lower() or None
    if url_protocol(url) == "ssh":
        return url.split(":", 1)[0].rpartition("@")[2].lower() or None
    return None


def credential(cred: Credential) -> Credential:
    """Refuse values that would break git's line-based credential protocol."""
    for value in (cred.username, cred.password):
        if "\n" in value or "\x00" in value:
            raise _invalid("credential contains a newline or NUL")
    return cred
