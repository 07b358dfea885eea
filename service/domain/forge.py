"""A forge gitferry integrates with: where it is, how to reach its API, and git's user name there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForgeConfig:
    kind: str
    host: str
    api_url: str
    token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    git_protocol: str = "https"
    username: str = ""  # the token owner's user name, for forges that want it
    forge_git_username: str = ""  # what the forge takes beside a token when no username is given

    @property
    def git_username(self) -> str:
        return self.username or self.forge_git_username


def forge_for_host(forges: Iterable[ForgeConfig], host: str) -> ForgeConfig | None:
    """The forge of a remote host ('host' or 'host:port'): an entry for host:port, else for host."""
    found = tuple(forges)
    exact = next((f for f in found if f.host == host), None)
    return exact or next((f for f in found if f.host == host.split(":")[0]), None)
