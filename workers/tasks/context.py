"""What a worker process needs, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    _git_configs: dict[str, GitConfig] = field(default_factory=dict)

    @property
    def lease_seconds(self) -> float:
        return self.settings.job_lease

    def git_config_for(self, forges_version: str | None) -> GitConfig:
        """git_config, kept while the forges table stays at `forges_version` (read with the job:
        reading the forges and opening their secrets cost each job a round trip)."""
        if forges_version is None:
            return self.git_config
        found = self._git_configs.get(forges_version)
        if found is None:
            self._git_configs.clear()
            found = self._git_configs[forges_version] = self.git_config
        return found

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
