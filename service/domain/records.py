"""Typed records of what gitferry keeps: the store returns them, the jobs layer, tasks and web take them.

Field names are the tables' column names, so the store builds a record from a row as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from service.domain.types import JobState

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Repo:
    id: int
    name: str
    url: str
    default_branch: str | None
    pull_strategy: str | None
    fetch_interval: int | None
    protected_branches: list[str]
    state: str
    error: str | None
    notify_url: str | None
    notify_secret: str | None
    last_fetch_at: datetime | None
    next_fetch_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Remote:
    id: int
    repo_id: int
    name: str
    url: str
    match_key: str | None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    fetch_failures: int = 0  # attempts in a row that failed


@dataclass(frozen=True, slots=True)
class RemoteFetch:
    """How a job's fetch of one remote went: at `at`, fine, or failed with an error."""

    remote: str
    at: datetime
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """When a fetch moves `remote`/`branch`, update `local_branch` and push it to `push_to`."""

    id: int
    repo_id: int
    name: str
    remote: str
    branch: str
    local_branch: str
    strategy: str | None
    push_to: str | None
    allow_force: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    repo_id: int
    repo: str
    kind: str
    state: str
    trigger: str
    params: Json
    result: Json | None
    error_code: str | None
    error_message: str | None
    progress: Json | None
    coalesce_key: str | None
    attempts: int
    owner: str | None
    lease_until: datetime | None
    sent_at: datetime | None
    resends: int
    resend_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    started_by: str | None = None  # the name of the API token whose request queued it

    @property
    def finished(self) -> bool:
        return JobState(self.state).finished

    def to_wire(self) -> str:
        """The job as JSON text for another process (times in ISO format): from_wire() reads it."""
        return json.dumps({name: getattr(self, name) for name in _JOB_FIELDS}, default=datetime.isoformat)

    @classmethod
    def from_wire(cls, text: str | bytes) -> Job | None:
        """A job from to_wire(); None if `text` is not one."""
        try:
            found = json.loads(text)
            values = {name: found.get(name) if name in _JOB_OPTIONAL else found[name] for name in _JOB_FIELDS}
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        for name in _JOB_TIMES:
            if values[name] is not None:
                values[name] = datetime.fromisoformat(values[name]).astimezone(UTC)
        return cls(**values)


_JOB_FIELDS = tuple(f.name for f in fields(Job))
_JOB_OPTIONAL = ("started_by",)  # a message from a process older than this field has none
_JOB_TIMES = ("lease_until", "sent_at", "resend_at", "created_at", "started_at", "finished_at")


@dataclass(frozen=True, slots=True)
class JobStart:
    """A claimed job with all running it needs, read in the claim's round trip. `repo` is None
    once the repo was deleted; `forges_version` changes whenever a forge is added or removed."""

    job: Job
    repo: Repo | None
    remotes: tuple[Remote, ...]
    rules: tuple[Rule, ...]
    forges_version: str


@dataclass(frozen=True, slots=True)
class JobEnd:
    """How a job ended, to be recorded in one transaction (JobStore.end)."""

    job: Job
    repo: Repo | None
    result: Json | None
    error_code: str | None = None
    error_message: str | None = None
    progress: Json | None = None
    fetched_at: datetime | None = None  # when the job fetched the repo's remotes, if it did
    refs: Json | None = None  # the clone's refs as a snapshot, recorded with the end
    refs_later: bool = False  # the refs are recorded after the answer (marked pending meanwhile)
    remote_fetches: tuple[RemoteFetch, ...] = ()  # each remote the job fetched, and how it went


@dataclass(frozen=True, slots=True)
class Ended:
    """What recording a job's end wrote: the job and the notification to send, if any."""

    job: Job
    notification: int | None


@dataclass(frozen=True, slots=True)
class Notification:
    """A finished job to POST to its repo's notify_url, and how its attempts went."""

    id: int
    job_id: int
    url: str
    state: str  # pending, delivered, failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Token:
    """An API token's name and scope (the token itself is shown once and stored hashed)."""

    name: str
    scope: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook delivery as recorded: the fetch jobs it queued or joined, or why it was ignored."""

    id: int
    forge: str
    delivery_id: str
    event: str
    job_ids: list[int]
    ignored: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class RefusedDelivery:
    """A webhook delivery refused before it was read (no or a wrong signature or token): what its headers
    said, as sent (event and delivery id "" when absent), why, and the address it came from."""

    id: int
    forge: str
    event: str
    delivery_id: str
    reason: str
    sender: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Backup:
    """A tip a force push (of `remote`'s branch) or a rebase (of a local branch: remote None)
    replaced, kept by a worker as a ref in the clone."""

    id: int
    repo_id: int
    remote: str | None
    branch: str
    ref: str
    sha: str
    replaced_by: str | None
    job_id: int | None
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class BackupKept:
    """A backup ref as a worker found or made it, to be recorded."""

    remote: str | None
    branch: str
    ref: str
    sha: str
    created_at: datetime
    replaced_by: str | None = None
    job_id: int | None = None
