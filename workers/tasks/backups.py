"""Backups on the worker: recording those a job made, keeping a rebased branch's old tip, and
keeping the records in step with the clone (deletions, retention) while the worker holds it."""

from __future__ import annotations

import logging
from typing import Any

from service.domain.records import BackupKept, JobStart
from service.domain.types import JobKind, utcnow
from workers.git import Clone
from workers.tasks.context import WorkerContext

log = logging.getLogger("gitferry.worker")
# Jobs that may make a backup: after them the records are brought in step even in a clone that
# has no backup ref (a clone made again has lost its old ones).
MAKERS = frozenset({JobKind.PUSH, JobKind.PULL, JobKind.SYNC, JobKind.RESTORE})


def record_made(ctx: WorkerContext, start: JobStart, clone: Clone, result: dict[str, Any]) -> None:
    """Record the backups the job made; a rebase's replaced tip is kept as a backup first (the
    result says which: backup_ref)."""
    job = start.job
    kind, params = job.kind, job.params
    made: list[BackupKept] = []
    pulled = result if kind == JobKind.PULL else result.get("pull") if kind == JobKind.SYNC else None
    if isinstance(pulled, dict) and pulled.get("outcome") == "rebased":
        branch = params["branch"] if kind == JobKind.PULL else params["local_branch"]
        pulled["backup_ref"] = clone.keep_local_backup(branch, pulled["before"])
        made.append(BackupKept(None, branch, pulled["backup_ref"], pulled["before"], utcnow(),
                               replaced_by=pulled["after"], job_id=job.id))
    pushed = result.get("push") if kind == JobKind.SYNC else result if kind in MAKERS else None
    if isinstance(pushed, dict) and pushed.get("backup_ref") and kind != JobKind.PULL:
        branch = pushed.get("remote_branch") or pushed["branch"]
        made.append(BackupKept(pushed.get("remote"), branch, pushed["backup_ref"], pushed["before"], utcnow(),
                               replaced_by=pushed["after"], job_id=job.id))
    ctx.store.backups.add(job.repo_id, made)


def in_step(ctx: WorkerContext, start: JobStart, clone: Clone) -> None:
    """Delete the backup refs marked deleted or past retention, and record any not recorded yet
    (made before backups were recorded, or by a job whose end was not). Runs after the job's
    answer, holding the clone; a clone without backups costs nothing after most jobs."""
    found = clone.backups()
    if not found and start.job.kind not in MAKERS:
        return
    kept = [BackupKept(b.remote, b.branch, b.ref, b.sha, b.made_at or utcnow()) for b in found]
    doomed = ctx.store.backups.in_step(start.job.repo_id, kept, ctx.settings.backups_kept_since)
    if doomed:
        clone.delete_backups(doomed)
        ctx.store.backups.forget(start.job.repo_id, doomed)
        log.info("backups_deleted repo=%s count=%d", start.job.repo, len(doomed))
