"""GitLab: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.gitlab.webhook import GitLabWebhook
from service.forges.weburls import gitlab_compare, path_web_url

DRIVER = ForgeDriver(
    kind="gitlab",
    endpoint="gitlab",
    provider="gitlab",
    git_username="oauth2",
    webhook=GitLabWebhook(),
    forks_module=f"{__name__}.forks",
    account_module=f"{__name__}.account",
    web_url=path_web_url,
    compare_url=gitlab_compare,
    default_host="gitlab.com",
    default_api_url="https://gitlab.com",
)
