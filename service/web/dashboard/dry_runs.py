"""A push's dry run as the repo page and the drag-and-drop push dialog show it: what would arrive on
the remote branch, or that the push would be rejected and what a force would discard."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.records import Job, Json, Repo
from service.domain.types import JobKind, JobState
from service.web.context import services

# What a dry run's outcome means, in a person's words (the PushResult schema's outcomes).
WOULD = {"fast-forward": "would fast-forward it", "create": "would create it", "up-to-date": "has it already",
         "force": "would force it (overwriting commits)", "rejected": "would be rejected"}


@dataclass(frozen=True)
class DryRun:
    """A push job run as a dry run: queued or running (no result yet), failed, or ended with a PushResult."""

    job: Job

    @property
    def result(self) -> Json:
        return self.job.result or {}

    @property
    def branch(self) -> str:
        return str(self.job.params.get("branch", ""))

    @property
    def where(self) -> str:
        """The remote branch it pushes to: as the result names it, else as asked (upstream while queued)."""
        if "remote" in self.result:
            return f"{self.result['remote']}/{self.result['remote_branch']}"
        remote = self.job.params.get("remote")
        return f"{remote}/{self.job.params.get('remote_branch') or self.branch}" if remote else "its upstream"

    @property
    def failed(self) -> bool:
        return self.job.state == JobState.FAILED

    @property
    def outcome(self) -> str:
        return str(self.result.get("outcome", ""))

    @property
    def would(self) -> str:
        return WOULD.get(self.outcome, self.outcome)

    @property
    def arriving(self) -> list[Json]:
        return list(self.result.get("arriving") or [])

    @property
    def discarded(self) -> list[Json]:
        return list(self.result.get("discarded") or [])


def is_dry_run(job: Job) -> bool:
    return job.kind == JobKind.PUSH and bool(job.params.get("dry_run"))


def last_dry_run(repo: Repo) -> DryRun | None:
    """The repo's newest push job, when it is a dry run: a push since then makes it old news."""
    newest = services().store.jobs.latest(repo=repo.name, kind=JobKind.PUSH, limit=1)
    return DryRun(newest[0]) if newest and is_dry_run(newest[0]) else None
