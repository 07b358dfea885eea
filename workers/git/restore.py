"""Putting a branch back where a backup kept it: a remote branch by a leased push, a local one by
a checked reset. Either way the tip it replaces is backed up in its turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from . import backups, validate
from .errors import GitError
from .models import Commit, PushResult, Record
from .push import Fetched, Target, commits, look, push_commit
from .refs import HEADS, is_ancestor, ref_sha, require_remote, update_ref
from .runner import Runner


@dataclass(frozen=True)
class ResetResult(Record):
    """Outcome of putting a local branch back: reset | up-to-date | rejected (reason stale)."""

    outcome: str
    branch: str
    before: str | None
    after: str
    reason: str | None = None
    backup_ref: str | None = None
    discarded: list[Commit] | None = None
    message: str | None = None


def restore(runner: Runner, backup: backups.BackupRef, lease: str | None, protected: Sequence[str] = (),
            fetched: Fetched | None = None) -> PushResult | ResetResult:
    """Put the backup's branch back at its sha, if the branch is at `lease` now (None: nothing
    known it may be at, so it is refused, showing where it is)."""
    if ref_sha(runner, backup.ref) != backup.sha:
        raise GitError("backup_not_found", f"the backup {backup.ref} is not in the clone any more")
    if backup.remote is None:
        return reset(runner, backup.branch, backup.sha, lease)
    validate.remote_name(backup.remote)
    url = require_remote(runner, backup.remote)
    to = Target(backup.remote, backup.branch, url, any(fnmatchcase(backup.branch, p) for p in protected))
    look(runner, to, fetched)
    if lease is None:  # a tip nobody confirmed is refused the way a stale expect is, showing it
        current = ref_sha(runner, to.tracking)
        now = f"is at {current}" if current else "does not exist"
        return PushResult("rejected", to.remote, to.branch, current, backup.sha, "stale", not to.protected,
                          message=f"{to.remote}/{to.branch} {now}; force with that tip as expect to restore")
    return push_commit(runner, backup.sha, to, force=True, expect=lease)


def reset(runner: Runner, branch: str, sha: str, lease: str | None) -> ResetResult:
    """Reset local `branch` to `sha` if it is at `lease`; what it was at is backed up first."""
    validate.branch_name(branch)
    ref = HEADS + branch
    current = ref_sha(runner, ref)
    if current is None or lease is None or current != lease:
        now = f"is at {current}" if current else "does not exist"
        message = f"branch {branch} {now}, not at {lease or 'a tip you confirmed'}; nothing was changed"
        return ResetResult("rejected", branch, current, sha, reason="stale", message=message)
    if current == sha:
        return ResetResult("up-to-date", branch, current, sha)
    kept = None
    discarded = None
    if not is_ancestor(runner, current, sha):
        discarded = commits(runner, current, [sha])
        kept = backups.keep_local(runner, branch, current)
    update_ref(runner, ref, sha, current, f"gitferry: restore {branch} from backup")
    return ResetResult("reset", branch, current, sha, backup_ref=kept, discarded=discarded)

