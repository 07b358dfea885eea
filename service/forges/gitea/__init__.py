"""Gitea and Forgejo: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.gitea.webhook import GiteaWebhook
from service.forges.weburls import github_compare, path_web_url

DRIVER = ForgeDriver(
    kind="gitea",
    endpoint="gitea",
    provider="gitea",
    git_username="oauth2",
    webhook=GiteaWebhook(),
    forks_module=f"{__name__}.forks",
    account_module=f"{__name__}.account",
    web_url=path_web_url,
    compare_url=github_compare,
    known_hosts=("codeberg.org",),
)
