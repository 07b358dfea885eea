"""GitHub and GitHub Enterprise: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.github.webhook import GitHubWebhook

DRIVER = ForgeDriver(
    kind="github",
    endpoint="github",
    provider="github",
    git_username="x-access-token",
    webhook=GitHubWebhook(),
    forks_module=f"{__name__}.forks",
    default_host="github.com",
    default_api_url="https://api.github.com",
)
