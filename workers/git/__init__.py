"""gitferry's git engine: server-side bare clones driven through the git CLI.

Standard library only; the only code in gitferry that runs git.
"""

from .backups import BackupRef
from .clone import Clone
from .errors import GitError
from .history import CommitPage, Comparison, Resolved
from .models import (
    Branch,
    Commit,
    Credential,
    FetchResult,
    GitConfig,
    ProgressCallback,
    PullResult,
    PushResult,
    RefGone,
    RefMove,
    RefSnapshot,
    RemoteBranch,
    RemoteTag,
)

__all__ = [
    "BackupRef",
    "Branch",
    "Clone",
    "Commit",
    "CommitPage",
    "Comparison",
    "Credential",
    "FetchResult",
    "GitConfig",
    "GitError",
    "ProgressCallback",
    "PullResult",
    "PushResult",
    "RefGone",
    "RefMove",
    "RefSnapshot",
    "RemoteBranch",
    "RemoteTag",
    "Resolved",
]
