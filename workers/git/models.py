"""Plain data the engine takes and returns: config, credentials and outcomes."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

ProgressCallback = Callable[[str, int], None]
"""Called with (phase, percent) as git reports progress, e.g. ("Receiving objects", 45)."""

Resolver = Callable[[str, int, int, int], Sequence[tuple[int, int, int, str, tuple[Any, ...]]]]
"""socket.getaddrinfo's shape: (host, port, family, type) to (family, type, proto, canonname, sockaddr)s."""


class Record:
    """A result the API shows as JSON."""

    def to_dict(self) -> dict[str, Any]:
        """As dataclasses.asdict, without its deep copies (a 500-commit graph took 30 ms in it)."""
        return {name: _plain(getattr(self, name)) for name in _names(type(self))}


_NAMES: dict[type, tuple[str, ...]] = {}  # each dataclass's field names, looked up once


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _names(type(value))}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Credential:
    """Username and password (or token) for one remote host."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class GitConfig:
    """Settings for every git call the engine makes."""

    timeout: float = 600.0
    allow_protocols: tuple[str, ...] = ("https", "ssh")
    # Off: a remote's host may not be, nor resolve to, a loopback, private or otherwise local address.
    allow_local_hosts: bool = False
    # How a remote's host is resolved before git connects to it (tests give their own).
    resolve: Resolver = socket.getaddrinfo
    # key: lowercase "host" or "host:port" as in the remote URL's netloc (without userinfo)
    credentials: Mapping[str, Credential] = field(default_factory=dict)
    author_name: str = "gitferry"
    author_email: str = "gitferry@localhost"
    low_speed_limit: int = 1000
    low_speed_time: int = 60
    git_binary: str = "git"


@dataclass(frozen=True)
class RefMove(Record):
    """A ref, as named on the remote (refs/heads/x, refs/tags/t), that a fetch created (old None)
    or moved: its sha before and after."""

    ref: str
    old: str | None
    new: str


@dataclass(frozen=True)
class RefGone(Record):
    """A ref, as named on the remote, that a fetch pruned: its last sha."""

    ref: str
    old: str


@dataclass(frozen=True)
class FetchResult(Record):
    """What a fetch of one remote changed, and the branch the remote's HEAD points at as followed
    (None while the remote has no branches or does not say)."""

    updated: list[RefMove]
    deleted: list[RefGone]
    default_branch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"updated": [{"ref": m.ref, "old": m.old, "new": m.new} for m in self.updated],
                "deleted": [{"ref": g.ref, "old": g.old} for g in self.deleted],
                "default_branch": self.default_branch}


@dataclass(frozen=True)
class Branch(Record):
    """A local branch; ahead/behind are None without an upstream or when it is gone."""

    name: str
    sha: str
    upstream: str | None
    ahead: int | None
    behind: int | None
    # The upstream is set but its branch is not there as last fetched: git's %(upstream:track) "[gone]".
    gone: bool = False


@dataclass(frozen=True)
class RemoteBranch(Record):
    """A remote-tracking branch as last fetched."""

    remote: str
    name: str
    sha: str


@dataclass(frozen=True)
class RemoteTag(Record):
    """A tag as last fetched from a remote; sha is the ref's object (tag object if annotated)."""

    remote: str
    name: str
    sha: str


@dataclass(frozen=True)
class RefSnapshot(Record):
    """Every local branch, remote-tracking branch and remote tag of a clone."""

    branches: list[Branch]
    remote_branches: list[RemoteBranch]
    tags: list[RemoteTag]
    # Some branch's ahead/behind was not worked out (None) though its upstream is there.
    pending: bool = False

    def to_dict(self) -> dict[str, Any]:
        # Written out: dataclasses.asdict deep-copies field by field, milliseconds per job here.
        return {
            "branches": [
                {"name": b.name, "sha": b.sha, "upstream": b.upstream, "ahead": b.ahead, "behind": b.behind,
                 "gone": b.gone}
                for b in self.branches
            ],
            "remote_branches": [{"remote": r.remote, "name": r.name, "sha": r.sha} for r in self.remote_branches],
            "tags": [{"remote": t.remote, "name": t.name, "sha": t.sha} for t in self.tags],
            "pending": self.pending,
        }


@dataclass(frozen=True)
class CommitSummary(Record):
    """A commit as a pull reports it: its sha and the first line of its message."""

    sha: str
    subject: str


@dataclass(frozen=True)
class PullResult(Record):
    """Outcome of updating a local branch from a remote-tracking branch.

    conflict_commit: the commit a rebase could not apply (only then). dry_run, incoming and
    incoming_count: only in a dry run, which changes nothing (after is before) and tells the
    commits that would arrive (the newest INCOMING_SHOWN of them, newest first)."""

    outcome: str  # up-to-date | fast-forwarded | merged | rebased | diverged | conflict
    before: str
    after: str
    conflicts: list[str] = field(default_factory=list)
    conflict_commit: CommitSummary | None = None
    dry_run: bool = False
    incoming: list[CommitSummary] | None = None
    incoming_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = Record.to_dict(self)
        for key in ("conflict_commit", "incoming", "incoming_count"):
            if data[key] is None:
                del data[key]
        if not self.dry_run:
            del data["dry_run"]
        return data


@dataclass(frozen=True)
class Author(Record):
    name: str
    email: str
    date: str  # ISO 8601


@dataclass(frozen=True)
class Commit(Record):
    """One commit as a person reads it in a list: what a push brings or a force discards."""

    sha: str
    parents: list[str]
    subject: str
    author: Author
    committed_at: str  # ISO 8601


@dataclass(frozen=True)
class PushResult(Record):
    """Outcome of a push; the optional fields only when they apply.

    A dry run's outcome is what the push would do: fast-forward | create | force | up-to-date |
    rejected. `discarded` are the remote's commits a force overwrites (or would), `arriving`
    (dry runs) the commits the remote would get; each list newest first, at most 100."""

    outcome: str  # pushed | created | up-to-date | rejected
    remote: str
    remote_branch: str
    before: str | None
    after: str
    reason: str | None = None
    force_available: bool | None = None
    backup_ref: str | None = None
    discarded: list[Commit] | None = None
    arriving: list[Commit] | None = None
    dry_run: bool | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = Record.to_dict(self)
        for key in ("reason", "force_available", "backup_ref", "discarded", "arriving", "dry_run", "message"):
            if data[key] is None:
                del data[key]
        return data
