"""Plain types in the user's words: pull strategies, job kinds and states, token scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class PullStrategy(StrEnum):
    FF_OR_MERGE = "ff-or-merge"
    FF_ONLY = "ff-only"
    REBASE = "rebase"


class JobKind(StrEnum):
    CLONE = "clone"
    FETCH = "fetch"
    PULL = "pull"
    PUSH = "push"
    SYNC = "sync"
    # Changes to a clone that the API answers synchronously still run on the worker that owns it.
    BRANCH = "branch"
    UPSTREAM = "upstream"
    REMOTE = "remote"
    REMOVE = "remove"
    RESTORE = "restore"  # a branch put back where a backup kept it


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


class Trigger(StrEnum):
    API = "api"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    RULE = "rule"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = [Scope.READ, Scope.WRITE, Scope.ADMIN]
        return order.index(self) >= order.index(needed)


class RepoState(StrEnum):
    CLONING = "cloning"
    READY = "ready"
    ERROR = "error"


def fetch_key_parts() -> tuple[str, str]:
    """A fetch's coalescing key around its repo id: what comes before it, and between it and the
    remote. Statements that build the key in SQL take these, so that SQL and Python agree."""
    return "fetch:", ":"


def fetch_coalesce_key(repo_id: int, remote: str | None) -> str:
    """Queued fetches of the same remote (or of all remotes) share this key and so one job."""
    head, between = fetch_key_parts()
    return f"{head}{repo_id}{between}{remote or '*'}"


def sync_coalesce_key(repo_id: int, rule: str) -> str:
    """Queued syncs of one rule share one job: it takes the remote branch as it is when it runs."""
    return f"sync:{repo_id}:{rule}"


def utcnow() -> datetime:
    return datetime.now(UTC)
