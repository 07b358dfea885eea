"""Rules for names and URLs that come from outside, checked before anything reaches git."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

MAX_NAME = 255
_REPO_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_SHA = re.compile(r"^[0-9a-f]{4,64}\Z")
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._~-]+)@)?(?P<host>[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(?P<path>[^/].*|/.*)$"
)
_FORBIDDEN_REF_CHARS = set(" ~^:?*[\\") | {chr(c) for c in range(0x20)} | {"\x7f"}
RESERVED_REPO_PARTS = frozenset({"branches", "remotes", "tags", "forks", "rules"})
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
    if len(name) > MAX_NAME:
        return "too long"
    if name.startswith("-"):
        return "must not start with '-'"
    if name in ("HEAD", "@") or name.startswith("refs/") or _PSEUDO_REF.match(name):
        return "reserved name"
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
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "https://[x" (an unclosed IPv6 bracket), a port that is no number
        raise InvalidValue("url has an invalid host or port") from exc
    scheme = parts.scheme.lower()
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
    if "::" in url.split("/", 1)[0] and "://" not in url:
        raise InvalidValue("transport helpers such as ext:: are not allowed")
    parsed = parse_url(url)
    allowed = {"https", "ssh", "git+ssh", "ssh+git"} | ({"http", "file"} if allow_local else set())
    if parsed.scheme not in allowed:
        raise InvalidValue(f"url scheme {parsed.scheme!r} is not allowed")
    if parsed.scheme == "file":
        if not parsed.path.startswith("/"):
            raise InvalidValue("file:// urls need an absolute path")
        return parsed
    if "://" in url:
        userinfo = urlsplit(url).netloc.rpartition("@")
        if userinfo[1] and (":" in userinfo[0] or parsed.scheme.startswith("http")):
            raise InvalidValue("credentials must not be part of the url; configure a forge token")
    if not parsed.host or parsed.host.startswith("-"):
        raise InvalidValue("url has no host")
    # The bare hostname: parsed.host joins an IPv6 address and its port ambiguously ("::1:8443").
    bare_host = (urlsplit(url).hostname or parsed.host) if "://" in url else parsed.host
    if not allow_local and is_local_host(bare_host):
        raise InvalidValue(f"host {parsed.host!r} is local or private; not allowed")
    if not parsed.path.strip("/"):
        raise InvalidValue("url has no repository path")
    return parsed


def is_local_host(host: str) -> bool:
    """True for loopback, private, link-local and unspecified addresses and localhost names."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]").rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost") or name.endswith(".local"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        try:  # forms git's resolver also reads as IPv4: 2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1
            ip = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_reserved


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
