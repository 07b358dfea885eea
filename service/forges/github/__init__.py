"""GitHub and GitHub Enterprise: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.github.webhook import GitHubWebhook
from service.forges.weburls import github_compare, path_web_url

DRIVER = ForgeDriver(
    kind="github",
    endpoint="github",
    provider="github",
    git_username="x-access-token",
    webhook=GitHubWebhook(),
    forks_module=f"{__name__}.forks",
    account_module=f"{__name__}.account",
    web_url=path_web_url,
    compare_url=github_compare,
    default_host="github.com",
    default_api_url="https://api.github.com",
)
