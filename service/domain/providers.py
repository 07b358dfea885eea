"""Which forge a remote lives on, from its URL."""

from __future__ import annotations

from collections.abc import Mapping

from service.domain.validation import InvalidValue, parse_url

_KNOWN_HOSTS = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "dev.azure.com": "azure-devops",
    "ssh.dev.azure.com": "azure-devops",
    "vs-ssh.visualstudio.com": "azure-devops",
    "codeberg.org": "gitea",
}
_KIND_TO_PROVIDER = {
    "github": "github",
    "gitlab": "gitlab",
    "bitbucket-cloud": "bitbucket",
    "bitbucket-server": "bitbucket",
    "azure-devops": "azure-devops",
    "gitea": "gitea",
}


def provider_for_url(url: str, forge_hosts: Mapping[str, str] | None = None) -> str:
    """Provider of the remote at `url`; `forge_hosts` maps configured host[:port] to forge kind."""
    try:
        host = parse_url(url).host
    except InvalidValue:
        return "other"
    if forge_hosts:
        kind = forge_hosts.get(host) or forge_hosts.get(host.split(":")[0])
        if kind:
            return _KIND_TO_PROVIDER.get(kind, "other")
    bare = host.split(":")[0]
    if bare in _KNOWN_HOSTS:
        return _KNOWN_HOSTS[bare]
    if bare.endswith(".visualstudio.com"):
        return "azure-devops"
    return "other"
