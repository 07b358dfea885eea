"""Bitbucket Cloud (bitbucket.org): webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.bitbucket_cloud.webhook import BitbucketCloudWebhook
from service.forges.weburls import bitbucket_cloud_compare, path_web_url

DRIVER = ForgeDriver(
    kind="bitbucket-cloud",
    endpoint="bitbucket",
    provider="bitbucket",
    git_username="x-token-auth",
    webhook=BitbucketCloudWebhook(),
    forks_module=f"{__name__}.forks",
    account_module=f"{__name__}.account",
    web_url=path_web_url,
    compare_url=bitbucket_cloud_compare,
    default_host="bitbucket.org",
    default_api_url="https://api.bitbucket.org",
    events_without_urls=True,
)
