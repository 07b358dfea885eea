"""A forge gitferry integrates with: where it is, how to reach its API, and git's user name there."""

from __future__ import annotations

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
