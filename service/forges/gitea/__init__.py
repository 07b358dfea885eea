"""Gitea and Forgejo: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.gitea.webhook import GiteaWebhook

DRIVER = ForgeDriver(
    kind="gitea",
    endpoint="gitea",
    provider="gitea",
    git_username="oauth2",
    webhook=GiteaWebhook(),
    forks_module=f"{__name__}.forks",
    known_hosts=("codeberg.org",),
)
