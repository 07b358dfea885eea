"""Azure DevOps Services and Server: webhooks and fork listings."""

from service.forges.azure_devops.webhook import AzureDevOpsWebhook
from service.forges.base import ForgeDriver
from service.forges.weburls import azure_devops_compare, azure_devops_web_url

DRIVER = ForgeDriver(
    kind="azure-devops",
    endpoint="azure-devops",
    provider="azure-devops",
    git_username="pat",  # any non-empty name works beside a PAT
    webhook=AzureDevOpsWebhook(),
    forks_module=f"{__name__}.forks",
    account_module=f"{__name__}.account",
    web_url=azure_devops_web_url,
    compare_url=azure_devops_compare,
    # Azure DevOps Services, and the organizations still on their old visualstudio.com addresses.
    known_hosts=("dev.azure.com", "ssh.dev.azure.com", "vs-ssh.visualstudio.com", "*.visualstudio.com"),
)
