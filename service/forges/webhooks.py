"""The webhook side of the forge drivers: which driver answers each /hooks/<forge> endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class WebhookDriver(Protocol):
    """Verifies and parses one forge's webhook deliveries into a ForgeEvent."""

    forge: str  # github, gitlab, bitbucket-cloud, bitbucket-server, gitea, azure-devops

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """True if these headers come from this forge (tells Bitbucket Cloud from Server)."""

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        """True if the delivery carries a signature, token or password at all."""

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """True if the delivery is signed (or authenticated) with `secret`; constant time."""

    def parse(self, headers: Mapping[str, str], payload: Any) -> Any:
        """The ForgeEvent of a delivery; WebhookError(400) when a field it needs is missing."""


def drivers_for(endpoint: str) -> list[WebhookDriver]:
    """The drivers behind POST /hooks/<endpoint>; empty for an unknown endpoint."""
    from service.forges.azure_devops.webhook import AzureDevOpsWebhook
    from service.forges.bitbucket_cloud.webhook import BitbucketCloudWebhook
    from service.forges.bitbucket_server.webhook import BitbucketServerWebhook
    from service.forges.gitea.webhook import GiteaWebhook
    from service.forges.github.webhook import GitHubWebhook
    from service.forges.gitlab.webhook import GitLabWebhook

    table: dict[str, list[WebhookDriver]] = {
        "github": [GitHubWebhook()],
        "gitlab": [GitLabWebhook()],
        "bitbucket": [BitbucketServerWebhook(), BitbucketCloudWebhook()],
        "gitea": [GiteaWebhook()],
        "azure-devops": [AzureDevOpsWebhook()],
    }
    return table.get(endpoint, [])
