"""Backups: real refs that keep what a force push or a rebase replaced, so they outlive `git gc`.

A remote branch's backup is refs/gitferry/backups/<remote>/<branch>/<when>-<sha12>; a local
branch's is refs/gitferry/local-backups/<branch>/<when>-<sha12>. They stay until deleted.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from . import validate
from .models import Record
from .refs import HEADS, delete_refs, list_refs, ref_sha, update_ref, zero_sha
from .runner import Runner

REMOTE_BACKUPS = "refs/gitferry/backups/"
LOCAL_BACKUPS = "refs/gitferry/local-backups/"
_STAMP = "%Y%m%dT%H%M%SZ"
_LEAF = re.compile(r"(\d{8}T\d{6}Z)-[0-9a-f]{7,64}")


@dataclass(frozen=True)
class BackupRef(Record):
    """A backup ref in the clone: which branch it keeps (of `remote`, or local when None)."""

    ref: str
    sha: str
    branch: str
    remote: str | None
    made_at: datetime | None


def keep_remote(runner: Runner, remote: str, branch: str, old: str) -> str:
    """Keep `old`, the tip a force push to remote/branch overwrites; the backup's ref."""
    return _keep(runner, f"{REMOTE_BACKUPS}{remote}/{branch}/", old, f"gitferry: backup before force push to {remote}")


def keep_local(runner: Runner, branch: str, old: str) -> str:
    """Keep `old`, the tip local `branch` had before it was rewritten; the backup's ref."""
    validate.branch_name(branch)
    return _keep(runner, f"{LOCAL_BACKUPS}{branch}/", old, f"gitferry: backup of {HEADS}{branch}")


def _keep(runner: Runner, prefix: str, old: str, reason: str) -> str:
    ref = f"{prefix}{time.strftime(_STAMP, time.gmtime())}-{old[:12]}"
    if ref_sha(runner, ref) != old:
        update_ref(runner, ref, old, zero_sha(old), reason)
    return ref


def found(runner: Runner) -> list[BackupRef]:
    """Every backup ref in the clone (read with the refs the job reads anyway)."""
    kept = []
    for ref, sha in sorted(list_refs(runner, REMOTE_BACKUPS, LOCAL_BACKUPS).items()):
        backup = parse(ref, sha)
        if backup is not None:
            kept.append(backup)
    return kept


def parse(ref: str, sha: str) -> BackupRef | None:
    """What a backup ref keeps, from its name; None for a ref of another shape."""
    local = ref.startswith(LOCAL_BACKUPS)
    rest = ref.removeprefix(LOCAL_BACKUPS if local else REMOTE_BACKUPS)
    head, _, leaf = rest.rpartition("/")
    remote, branch = (None, head) if local else head.partition("/")[::2]
    if not branch or not _LEAF.fullmatch(leaf):
        return None
    made_at = datetime.strptime(leaf.split("-")[0], _STAMP).replace(tzinfo=UTC)
    return BackupRef(ref, sha, branch, remote, made_at)


def delete(runner: Runner, refs: list[str]) -> None:
    """Delete backup refs (and nothing else)."""
    delete_refs(runner, [r for r in refs if r.startswith((REMOTE_BACKUPS, LOCAL_BACKUPS))])
