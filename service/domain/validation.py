"""Rules for names and URLs that come from outside, checked before anything reaches git."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

MAX_NAME = 255
# A loose ref is a file: each part of its name a file or folder name (255 bytes; the last part
# gets ".lock" while git writes it), the whole a path with the clone's own and
# refs/remotes/<remote>/ in front (4096 bytes; 4000 leave room). The engine's validate.py agrees.
NAME_MAX = 255
REF_MAX = 4000
_REPO_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_SHA = re.compile(r"^[0-9a-f]{4,64}\Z")
# Any host git would read here is matched, so that its spelling is judged (normal_host), not
# refused as nonsense; the engine's validate.py has the same pattern.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\[\]]*)@)?(?P<host>\[[^\]/@]*\]|[^:/@\[\]]+):(?P<path>.+)$")
# git's <transport>::<address>, which runs a remote helper (transport.c)
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
# A host once percent-decoded and IDNA-encoded: what a resolver is given.
_HOST_CHARS = re.compile(r"^[a-z0-9_.-]+\Z")
# Carrier-grade NAT's shared space: private, though Python's is_private leaves it out.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64's well-known prefix: the IPv4 address in its low 32 bits is where it leads.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_FORBIDDEN_REF_CHARS = set(" ~^:?*[\\") | {chr(c) for c in range(0x20)} | {"\x7f"}
RESERVED_REPO_PARTS = frozenset({"branches", "remotes", "tags", "forks", "rules", "backups", "commits", "compare"})
# Names git gives meaning of its own ("refs" would read as refs/remotes/refs/..., a prefix of every ref).
RESERVED_REMOTE_NAMES = frozenset({"head", "refs", "fetch_head", "orig_head", "merge_head"})
# git's own pseudo-refs (FETCH_HEAD, ORIG_HEAD, ...): a branch so named is shadowed by them.
_PSEUDO_REF = re.compile(r"^[A-Z_]*HEAD\Z")
# Characters that make a name display as something it is not (bidirectional overrides and isolates).
_DISGUISING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class InvalidValue(ValueError):
    """A value from outside that git must never see; the message says what is wrong."""


def check_ref_name(name: object, what: str = "branch") -> str:
    """Return `name` if it is a valid short branch name (git check-ref-format --branch rules)."""
    if not isinstance(name, str) or not name:
        raise InvalidValue(f"{what} name must be a non-empty string")
    problem = _ref_problem(name)
    if problem:
        raise InvalidValue(f"invalid {what} name {name[:80]!r}: {problem}")
    return name


def _ref_problem(name: str) -> str | None:
    if name.startswith("-"):
        return "must not start with '-'"
    if name in ("HEAD", "@") or name.startswith("refs/") or _PSEUDO_REF.match(name):
        return "reserved name"
    if not _utf8(name):
        return "contains a character git does not allow"
    too_long = _too_long(name)
    if too_long:
        return too_long
    if any(ch in _DISGUISING for ch in name):
        return "contains a character that changes how it is displayed (bidirectional override)"
    if any(ch in _FORBIDDEN_REF_CHARS for ch in name) or not _utf8(name):
        return "contains a character git does not allow"
    if ".." in name or "@{" in name or "//" in name:
        return "contains '..', '@{' or '//'"
    if name.startswith("/") or name.endswith("/") or name.endswith("."):
        return "must not start or end with '/' or end with '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a component starts with '.' or ends with '.lock'"
    return None


def _too_long(name: str) -> str | None:
    encoded = name.encode("utf-8")
    parts = encoded.split(b"/")
    if any(len(part) > NAME_MAX for part in parts) or len(parts[-1]) > NAME_MAX - len(".lock"):
        return "too long for git to store: a part of the name is over 255 bytes, or the last part over 250"
    if len(encoded) > REF_MAX:
        return "too long for git to store: the name is over 4000 bytes"
    return None


def check_start_point(value: object) -> str:
    """Return `value` if it may name a start point: a sha, a branch or `<remote>/<branch>`, or
    a full refs/heads/<branch> or refs/remotes/<remote>/<branch> (what git reads unambiguously)."""
    if not isinstance(value, str) or not value:
        raise InvalidValue("start point must be a non-empty string")
    if is_sha(value):
        return value
    if value.startswith("refs/heads/"):
        check_ref_name(value[len("refs/heads/"):], "start point")
    elif value.startswith("refs/remotes/"):
        remote, _, branch = value[len("refs/remotes/"):].partition("/")
        check_remote_name(remote)
        check_ref_name(branch, "start point")
    else:
        check_ref_name(value, "start point")
    return value


def storable(text: str) -> bool:
    """Whether a database (and git) can hold `text`: no NUL character, no lone surrogate."""
    return "\x00" not in text and _utf8(text)


def _utf8(text: str) -> bool:
    """False for strings with lone surrogates (from JSON "\\ud800"), which git can never be given."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_remote_name(name: object) -> str:
    """Return `name` if it is a safe remote name (letters, digits, '.', '_', '-')."""
    if not isinstance(name, str) or not name:
        raise InvalidValue("remote name must be a non-empty string")
    if len(name) > 100 or not _REMOTE_NAME.match(name) or ".." in name or name.endswith(".lock"):
        raise InvalidValue(f"invalid remote name {name[:80]!r}")
    if name.lower() in RESERVED_REMOTE_NAMES:
        raise InvalidValue(f"invalid remote name {name!r}: git gives it a meaning of its own")
    return name


def check_repo_name(name: object) -> str:
    """Return `name` if it is a valid repo name such as 'acme/widgets'."""
    if not isinstance(name, str) or not name:
        raise InvalidValue("repo name must be a non-empty string")
    parts = name.split("/")
    if len(name) > 200 or not all(_REPO_PART.match(p) and ".." not in p for p in parts):
        raise InvalidValue(f"invalid repo name {name[:80]!r}: use letters, digits, '.', '_', '-' and '/'")
    if any(p.endswith(".git") or p.endswith(".lock") for p in parts):
        raise InvalidValue(f"invalid repo name {name[:80]!r}: parts must not end in .git or .lock")
    reserved = RESERVED_REPO_PARTS.intersection(parts[1:])
    if reserved:
        # /api/v1/repos/acme/branches would be acme's branch list, never a repo "acme/branches".
        raise InvalidValue(f"invalid repo name {name[:80]!r}: {sorted(reserved)[0]!r} after a '/' is reserved")
    return name


def is_sha(value: str) -> bool:
    return bool(_SHA.match(value))


def check_globs(value: object) -> list[str]:
    """Return the branch globs of `protected_branches`."""
    if not isinstance(value, list) or not all(isinstance(g, str) and g for g in value):
        raise InvalidValue("protected_branches must be a list of non-empty strings")
    if len(value) > 100 or any(len(g) > MAX_NAME or any(c in g for c in "\x00\n") for g in value):
        raise InvalidValue("protected_branches: too many or too long globs")
    return list(value)


@dataclass(frozen=True)
class RemoteUrl:
    """A parsed remote URL: scheme ('https', 'ssh', 'http', 'file'), host[:port] and path."""

    url: str
    scheme: str
    host: str  # lowercase host[:port] without default port; "" for file://
    path: str


def parse_url(url: str) -> RemoteUrl:
    """Split a remote URL (including scp-like `git@host:path`) without judging it."""
    if not isinstance(url, str) or not url:
        raise InvalidValue("url must be a non-empty string")
    return _parse_url(url)


@lru_cache(maxsize=4096)  # every webhook names the same few URLs
def _parse_url(url: str) -> RemoteUrl:
    if "://" not in url:
        m = _SCP_LIKE.match(url)
        if not m:
            raise InvalidValue("url must be https://, ssh:// or user@host:path")
        return RemoteUrl(url, "ssh", m.group("host").lower().strip("[]"), m.group("path"))
    try:
        parts = urlsplit(url)  # raises for "https://[::1" and hosts NFKC turns into '/', '?', '#' or '@'
    except ValueError as exc:
        raise InvalidValue("url is not a valid URL") from exc
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidValue("url has an invalid port") from exc
    host = (parts.hostname or "").lower()
    default = {"https": 443, "http": 80, "ssh": 22}.get(scheme)
    if port and port != default:
        host = f"{host}:{port}"
    return RemoteUrl(url, scheme, host, parts.path)


def check_url(url: object, *, allow_local: bool = False) -> RemoteUrl:
    """Return the parsed URL if gitferry may use it as a remote, else raise InvalidValue."""
    if not isinstance(url, str) or not url:
        raise InvalidValue("url must be a non-empty string")
    if len(url) > 2048 or url.startswith("-") or any(ord(c) < 0x21 or c == "\x7f" for c in url) or not _utf8(url):
        raise InvalidValue("url contains characters that are not allowed")
    if "://" not in url and _HELPER.match(url):
        raise InvalidValue("transport helpers such as ext:: are not allowed")
    parsed = parse_url(url)
    allowed = {"https", "ssh", "git+ssh", "ssh+git"} | ({"http", "file"} if allow_local else set())
    if parsed.scheme not in allowed:
        raise InvalidValue(f"url scheme {parsed.scheme!r} is not allowed")
    if parsed.scheme == "file":
        if not parsed.path.startswith("/"):
            raise InvalidValue("file:// urls need an absolute path")
        return parsed
    user, host = _user_and_host(url)
    if user is not None and (":" in user or parsed.scheme.startswith("http")):
        raise InvalidValue("credentials must not be part of the url; configure a forge token")
    _check_host(user or "", host, allow_local)
    if not parsed.path.strip("/"):
        raise InvalidValue("url has no repository path")
    return parsed


def _user_and_host(url: str) -> tuple[str | None, str]:
    """The userinfo (None without an '@') and the host of a URL, as written."""
    if "://" not in url:
        m = _SCP_LIKE.match(url)
        assert m is not None  # parse_url read it
        return m.group("user"), m.group("host")
    parts = urlsplit(url)
    # One '@' and no '\\': where URL parsers disagree on the host, git's might not be the one checked.
    if parts.netloc.count("@") > 1 or "\\" in parts.netloc:
        raise InvalidValue("url has more than one '@' or a '\\' before its path")
    userinfo, at, _ = parts.netloc.rpartition("@")
    return (userinfo if at else None), parts.hostname or ""


def _check_host(user: str, host: str, allow_local: bool) -> None:
    """Refuse a host git would read as an option, as a local address, or differently than written."""
    if unquote(user).startswith("-") or unquote(host).startswith("-"):
        raise InvalidValue("the url's user and host must not start with '-'")
    if not host:
        raise InvalidValue("url has no host")
    name = normal_host(host)
    if not allow_local and _is_local_name(name):
        raise InvalidValue(f"host {host[:80]!r} is local or private; not allowed")
    # curl and ssh each decode a host their own way; only a host written as it is read is pinned
    # by the engine to the address it checked.
    if "%" in host or (":" not in name and name != host.lower()):
        shown = f"[{name}]" if ":" in name else name
        raise InvalidValue(f"write the url's host as {shown!r}")


def normal_host(host: str) -> str:
    """`host` as a resolver is given it: percent-decoded, IDNA-encoded and lowercase (an IPv6
    address without brackets); InvalidValue if it has no such form."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        name = unquote(name, errors="strict")
        if ":" in name:
            return str(ipaddress.IPv6Address(name))
        # The IDNA codec maps fullwidth digits and ideographic full stops as a UTF-8 resolver would.
        name = name.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError) as exc:
        raise InvalidValue(f"host {host[:80]!r} is not a valid host name") from exc
    if not _HOST_CHARS.match(name):
        raise InvalidValue(f"host {host[:80]!r} is not a valid host name")
    return name


def is_local_host(host: str) -> bool:
    """True for loopback, private, link-local, shared, reserved, multicast and unspecified addresses
    and localhost names in any spelling a resolver reads as one, and for hosts it cannot read."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        return _is_local_name(normal_host(name))
    except InvalidValue:
        return True


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


def redact_url(url: str) -> str:
    """`url` without any password or token in its userinfo."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    user, _, hostport = parts.netloc.rpartition("@")
    user = user.split(":", 1)[0]
    shown = "***" if parts.scheme.startswith("http") else user
    return parts._replace(netloc=f"{shown}@{hostport}").geturl()


def url_origin(url: str) -> str:
    """Only the scheme and host of `url`, for logs: some URLs carry a secret in their path."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
    except ValueError:
        return "(unreadable URL)"


def check_notify_url(url: object, *, allow_local: bool = False) -> str:
    """Return `url` if job notifications may be POSTed there (https; http only when local is allowed)."""
    if (not isinstance(url, str) or not url or len(url) > 2048 or any(ord(c) < 0x21 or c == "\x7f" for c in url)
            or not _utf8(url)):
        raise InvalidValue("notify_url must be an http(s) URL")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:  # "https://[::1", "https://host:99999/"
        raise InvalidValue("notify_url is not a valid URL") from exc
    if parts.scheme not in ({"https", "http"} if allow_local else {"https"}) or not parts.hostname:
        raise InvalidValue("notify_url must be an https:// URL")
    if "@" in parts.netloc:
        raise InvalidValue("notify_url must not carry credentials; use notify_secret")
    if not allow_local and is_local_host(parts.hostname):
        raise InvalidValue(f"host {parts.hostname!r} is local or private; not allowed")
    return url
