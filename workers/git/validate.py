"""Checks on every name and URL from outside, done before git sees them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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
    if name in ("HEAD", "@") or name.startswith("refs/") or len(name) > 255 or _PSEUDO_REF.fullmatch(name):
        raise _invalid(f"{what} name {name!r} is not allowed")
    if _DISGUISING.search(name):
        raise _invalid(f"{what} name {name!r} holds a character that changes how it is displayed")
    if not refname_ok("refs/heads/" + name):
        raise _invalid(f"{what} name {name!r} is not a valid git branch name")
    return name


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


def remote_url(url: str, allow_protocols: tuple[str, ...]) -> str:
    """Validate a remote URL: allowed protocol, no option look-alike, no password inside."""
    if not isinstance(url, str) or not url.strip():
        raise _invalid("remote URL is empty")
    if url.startswith("-") or _CONTROL.search(url):
        raise _invalid("remote URL is not allowed")
    protocol = url_protocol(url)
    if protocol not in allow_protocols:
        raise _invalid(f"remote URL protocol {protocol!r} is not allowed (allowed: {', '.join(allow_protocols)})")
    if "://" in url:
        userinfo = urlsplit(url).netloc.rpartition("@")[0]
        if ":" in userinfo:
            raise _invalid("remote URL must not contain a password; configure a credential")
    return url


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
