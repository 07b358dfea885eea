"""A forge gitferry integrates with: where it is, how to reach its API, and git's user name there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# The user name each forge expects beside a token for git over HTTPS.
GIT_USERNAMES = {
    "github": "x-access-token",
    "gitlab": "oauth2",
    "bitbucket-cloud": "x-token-auth",
    # Bitbucket Data Center has no fixed name: a user's HTTP access token goes with that user's name.
    "bitbucket-server": "",
    "azure-devops": "pat",  # any non-empty name works beside a PAT
    "gitea": "oauth2",
}


@dataclass(frozen=True)
class ForgeConfig:
    kind: str
    host: str
    api_url: str
    token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    git_protocol: str = "https"
    username: str = ""

    @property
    def git_username(self) -> str:
        return self.username or GIT_USERNAMES.get(self.kind, "git")


def forge_for_host(forges: Iterable[ForgeConfig], host: str) -> ForgeConfig | None:
    """The forge of a remote host ('host' or 'host:port'): an entry for host:port, else for host."""
    found = tuple(forges)
    exact = next((f for f in found if f.host == host), None)
    return exact or next((f for f in found if f.host == host.split(":")[0]), None)
