"""On a repo's page: the pushes a force would complete (with the commits it would discard), and
the backups forced pushes kept."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.records import Backup, Job, Json, Repo
from service.domain.types import JobKind
from service.web.context import services

SHOWN = 100  # the last push jobs looked at


@dataclass(frozen=True)
class PushShown:
    """The last push to one remote branch: rejected (what a force would discard), or forced (the backup kept)."""

    job: Job
    result: Json
    backup: Backup | None  # the backup a forced push kept

    @property
    def rejected(self) -> bool:
        return self.result.get("outcome") == "rejected"

    @property
    def confirmation(self) -> str:
        """What the Force push button asks first: the commits it discards, by name."""
        r, discarded = self.result, self.result.get("discarded") or []
        named = "; ".join(f"{c['sha'][:10]} {c['subject']}" for c in discarded)
        return (f"Force push {self.job.params.get('branch')} to {r['remote']}/{r['remote_branch']}? It discards "
                f"{len(discarded)} commit{'s' if len(discarded) != 1 else ''} of {r['remote']}/{r['remote_branch']}"
                f": {named}. A backup of them is kept.")


def pushes_shown(repo: Repo, backups: list[Backup], tips: dict[tuple[str, str], str]) -> list[PushShown]:
    """Each remote branch's last push, when it is one a person should act on or know about. A
    rejection is shown while the remote branch is where the rejection saw it (`tips`: remote
    branches at their recorded commits); once it moved, a force offered from it would be stale."""
    seen: set[tuple[str, str]] = set()
    shown = []
    for job in services().store.jobs.latest(repo=repo.name, kind=JobKind.PUSH, limit=SHOWN):
        result = job.result
        if not job.finished or not result or result.get("dry_run") or "remote" not in result:
            continue
        where = (result["remote"], result["remote_branch"])
        if where in seen:
            continue
        seen.add(where)
        if result["outcome"] == "rejected" and result.get("reason") in ("non-fast-forward", "stale") \
                and result.get("force_available") and result.get("discarded") and tips.get(where) == result["before"]:
            shown.append(PushShown(job, result, None))
        elif result.get("backup_ref"):
            kept = next((b for b in backups if b.ref == result["backup_ref"]), None)
            shown.append(PushShown(job, result, kept))
    return shown
