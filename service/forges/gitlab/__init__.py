"""GitLab: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.gitlab.webhook import GitLabWebhook

DRIVER = ForgeDriver(
    kind="gitlab",
    endpoint="gitlab",
    provider="gitlab",
    git_username="oauth2",
    webhook=GitLabWebhook(),
    forks_module=f"{__name__}.forks",
    default_host="gitlab.com",
    default_api_url="https://gitlab.com",
)
