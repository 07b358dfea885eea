"""Fixtures for engine tests: a forge (bare repo) with history and a gitferry clone of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.repos import (
    commit_to,
    file_url,
    git,
    init_forge,
    make_commit,
    push,
    work_clone,
)
from workers.git import Clone, GitConfig

TEST_PROTOCOLS = ("file", "http", "https", "ssh")


@pytest.fixture
def config() -> GitConfig:
    return GitConfig(allow_protocols=TEST_PROTOCOLS, allow_local_hosts=True, timeout=60)


@dataclass
class Forge:
    """A bare forge repo plus a work clone (`work`) used to push 'upstream' changes."""

    path: Path
    work: Path
    tmp: Path

    @property
    def url(self) -> str:
        return file_url(self.path)

    def commit(
        self,
        path: str,
        content: str | None,
        message: str,
        branch: str = "main",
        *,
        force: bool = False,
    ) -> str:
        """Commit on `branch` in the work clone and push it to the forge."""
        sha = make_commit(self.work, path, content, message, branch=branch)
        push(self.work, f"{branch}:refs/heads/{branch}", force=force)
        return sha

    def sha(self, ref: str) -> str | None:
        out = git(self.path, "rev-parse", "--verify", "-q", ref, check=False)
        return out or None


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    path = init_forge(tmp_path / "forge" / "project.git")
    work = work_clone(path, tmp_path / "upstream-work")
    f = Forge(path, work, tmp_path)
    f.commit("README.md", "hello\n", "initial")
    f.commit("src/app.py", "print('v1')\n", "add app")
    return f


@pytest.fixture
def clone(tmp_path: Path, forge: Forge, config: GitConfig) -> Clone:
    c = Clone(tmp_path / "clones" / "1.git", config)
    assert c.create(forge.url) == "main"
    return c


class LocalCommits:
    """Makes commits on a clone's local branches (the clone is bare, so via a scratch clone)."""

    def __init__(self, clone: Clone, tmp: Path) -> None:
        self.clone = clone
        self.scratch = tmp / "local-scratch"

    def __call__(self, branch: str, path: str, content: str | None, message: str) -> str:
        sha = commit_to(self.clone.path, branch, path, content, message, self.scratch)
        self.clone.forget()  # written behind the Clone's back, as its docstring asks
        return sha


@pytest.fixture
def local_commit(clone: Clone, tmp_path: Path) -> LocalCommits:
    return LocalCommits(clone, tmp_path)
