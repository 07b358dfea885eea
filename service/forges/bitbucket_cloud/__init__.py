"""Bitbucket Cloud (bitbucket.org): webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.bitbucket_cloud.webhook import BitbucketCloudWebhook

DRIVER = ForgeDriver(
    kind="bitbucket-cloud",
    endpoint="bitbucket",
    provider="bitbucket",
    git_username="x-token-auth",
    webhook=BitbucketCloudWebhook(),
    forks_module=f"{__name__}.forks",
    default_host="bitbucket.org",
    default_api_url="https://api.bitbucket.org",
    events_without_urls=True,
)
