"""Fake forges with an origin repository and five forks each (three pages of two)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service import outbound
from service.settings import ForgeConfig, parse_forge
from tests.support.fake_forges import (
    FakeAzureDevOps,
    FakeBitbucketCloud,
    FakeBitbucketServer,
    FakeForge,
    FakeGitea,
    FakeGitHub,
    FakeGitLab,
)
from tests.support.repos import init_forge, make_commit, push, work_clone

TOKEN = "forge-t0ken-9f8e7d6c5b4a"
BB_USER = "alice-bot"


@dataclass
class Setup:
    """One fake forge, the origin's full name on it, and the forges-config entry that points at it."""

    fake: FakeForge
    origin: str
    forks: list[str]
    entry: dict[str, str]

    @property
    def forge(self) -> ForgeConfig:
        return parse_forge(self.entry)

    @property
    def origin_url(self) -> str:
        return self.fake.url_of(self.fake.repos[self.origin])


# kind -> (fake class, origin full name, fork full names (with owner where it differs))
LAYOUTS: dict[str, tuple[type[FakeForge], str, list[str]]] = {
    "github": (FakeGitHub, "acme/widgets", ["alice/widgets", "bob/widgets", "carol/widgets", "dave/w", "Eve-X/w"]),
    "gitlab": (FakeGitLab, "acme/tools/widgets",
               ["alice/widgets", "bob/widgets", "carol/widgets", "team/sub/widgets", "eve/widgets"]),
    "bitbucket-cloud": (FakeBitbucketCloud, "acme/widgets",
                        ["alice/widgets", "bob/widgets", "carol/widgets", "dave/widgets", "eve/widgets"]),
    "bitbucket-server": (FakeBitbucketServer, "ACME/widgets",
                         ["~ALICE/widgets", "~BOB/widgets", "TEAM/widgets", "~DAVE/widgets", "~EVE/widgets"]),
    "gitea": (FakeGitea, "acme/widgets", ["alice/widgets", "bob/widgets", "carol/widgets", "dave/widgets",
                                          "eve/widgets"]),
    "azure-devops": (FakeAzureDevOps, "Acme/widgets", ["alice/widgets", "bob/widgets", "carol/w", "dave/w",
                                                       "eve/w"]),
}


def start_fake(kind: str, root: Path, token: str = TOKEN) -> Setup:
    cls, origin, forks = LAYOUTS[kind]
    source = init_forge(root / "source.git")
    work = work_clone(source, root / "source-work")
    make_commit(work, "README", "hello\n", "first")
    push(work, "main")
    fake = cls(root / "served", token, git_username=BB_USER if kind == "bitbucket-server" else None).start()
    fake.add_repo(origin, source)
    for name in forks:
        fake.add_fork(origin, name)
    api_url = getattr(fake, "api_url", fake.base)
    entry = {"kind": kind, "host": fake.netloc, "api_url": api_url, "token": token}
    if kind == "bitbucket-server":
        entry["username"] = BB_USER
    return Setup(fake, origin, forks, entry)


@pytest.fixture(params=list(LAYOUTS))
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    s = start_fake(request.param, tmp_path)
    yield s
    s.fake.stop()


@pytest.fixture(autouse=True)
def local_forges() -> Iterator[None]:
    """The fake forges listen on 127.0.0.1: these tests allow local hosts, as
    GITFERRY_ALLOW_LOCAL_REMOTES does (tests/forges/test_outbound.py checks what happens without)."""
    with outbound.local_hosts(True):
        yield
