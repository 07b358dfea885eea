"""Bitbucket Server and Data Center: webhooks and fork listings."""

from service.forges.base import ForgeDriver
from service.forges.bitbucket_server.webhook import BitbucketServerWebhook
from service.forges.weburls import bitbucket_server_compare, bitbucket_server_web_url

DRIVER = ForgeDriver(
    kind="bitbucket-server",
    endpoint="bitbucket",
    provider="bitbucket",
    git_username="",  # no fixed name: a user's HTTP access token goes with that user's name
    webhook=BitbucketServerWebhook(),
    forks_module=f"{__name__}.forks",
    account_module=f"{__name__}.account",
    web_url=bitbucket_server_web_url,
    compare_url=bitbucket_server_compare,
)
