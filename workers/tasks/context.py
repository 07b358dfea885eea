"""What a worker process needs, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.dispatch import Dispatcher
from service.forge_config import effective_forges
from service.settings import Settings
from service.store import Store
from workers.git import Credential, GitConfig


@dataclass
class WorkerContext:
    settings: Settings
    store: Store
    dispatcher: Dispatcher

    @property
    def lease_seconds(self) -> float:
        return self.settings.job_lease

    @property
    def git_config(self) -> GitConfig:
        """Built per use: forges added through the API since start-up bring their credentials along."""
        s = self.settings
        protocols = ("https", "ssh") + (("file", "http") if s.allow_local_remotes else ())
        credentials = {
            f.host: Credential(f.git_username, f.token)
            for f in effective_forges(s, self.store) if f.token and f.git_username
        }
        return GitConfig(
            timeout=s.git_timeout,
            allow_protocols=protocols,
            credentials=credentials,
            author_name=s.git_author_name,
            author_email=s.git_author_email,
        )

    def clone_path(self, repo_id: int) -> Path:
        return self.settings.repos_dir / f"{repo_id}.git"
