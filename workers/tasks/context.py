"""What a worker process needs, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.jobs import JobQueue
from service.settings import Settings
from service.store import Store
from workers.git import Credential, GitConfig


@dataclass
class WorkerContext:
    settings: Settings
    store: Store
    jobs: JobQueue

    @property
    def lease_seconds(self) -> float:
        return self.settings.job_lease

    def git_config(self, forges_version: str | None = None) -> GitConfig:
        """How git runs here, with the credentials of the forges in effect (those at
        `forges_version`, read with the job: forges added since start-up bring theirs along)."""
        s = self.settings
        protocols = ("https", "ssh") + (("file", "http") if s.allow_local_remotes else ())
        credentials = {f.host: Credential(f.git_username, f.token)
                       for f in self.store.forges.in_effect(forges_version) if f.token and f.git_username}
        return GitConfig(timeout=s.git_timeout, allow_protocols=protocols, allow_local_hosts=s.allow_local_remotes,
                         credentials=credentials, author_name=s.git_author_name, author_email=s.git_author_email)

    def clone_path(self, repo_id: int) -> Path:
        return self.settings.repos_dir / f"{repo_id}.git"
