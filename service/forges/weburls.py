"""Where a repository and a comparison of two refs are seen in a browser, forge by forge.

A remote's clone URL (https or ssh, scp-like too) gives the repository's page; each forge then
has its own shape for comparing two refs there. A side of a comparison is (kind, name): kind is
"branch", "tag" or "commit", name the branch or tag as the forge knows it, or the commit's sha.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from service.domain.validation import RemoteUrl

Side = tuple[str, str]  # (kind, name)


def _q(text: str) -> str:
    return quote(text, safe="/")


def _web_root(remote: RemoteUrl) -> str:
    """scheme://host of the web pages: an ssh remote's port is git's, not the web's; a forge
    served over plain http (allowed for local remotes only) keeps http."""
    if remote.scheme in ("https", "http"):
        return f"{remote.scheme}://{remote.host}"
    return f"https://{remote.host.split(':')[0]}"


def path_web_url(remote: RemoteUrl) -> str | None:
    """GitHub, GitLab, Gitea, Bitbucket Cloud: https://host/<path without .git>."""
    path = remote.path.strip("/").removesuffix(".git")
    if remote.scheme not in ("https", "http", "ssh", "git+ssh", "ssh+git") or not remote.host or "/" not in path:
        return None
    return f"{_web_root(remote)}/{path}"


def github_compare(web: str, base: Side, head: Side) -> str:
    return f"{web}/compare/{_q(base[1])}...{_q(head[1])}"


def gitlab_compare(web: str, base: Side, head: Side) -> str:
    return f"{web}/-/compare/{_q(base[1])}...{_q(head[1])}"


def bitbucket_cloud_compare(web: str, base: Side, head: Side) -> str:
    # Bitbucket Cloud names the source (head) first, then the destination, split by a CR.
    return f"{web}/branches/compare/{_q(head[1])}%0D{_q(base[1])}"


_BITBUCKET_SERVER_HTTPS = re.compile(r"^(?P<context>.*?)/scm/(?P<project>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")
_BITBUCKET_SERVER_SSH = re.compile(r"^/?(?P<project>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")


def bitbucket_server_web_url(remote: RemoteUrl) -> str | None:
    """https://host[/context]/scm/KEY/repo.git or ssh://git@host:7999/KEY/repo.git ->
    https://host[/context]/projects/KEY/repos/repo."""
    if remote.scheme in ("https", "http"):
        m = _BITBUCKET_SERVER_HTTPS.match(remote.path)
        context = m.group("context") if m else ""
    else:
        m = _BITBUCKET_SERVER_SSH.match(remote.path)
        context = ""
    if m is None or not remote.host:
        return None
    return f"{_web_root(remote)}{context}/projects/{m.group('project').upper()}/repos/{m.group('repo')}"


def bitbucket_server_compare(web: str, base: Side, head: Side) -> str:
    def ref(side: Side) -> str:
        kind, name = side
        return quote({"branch": f"refs/heads/{name}", "tag": f"refs/tags/{name}"}.get(kind, name), safe="")

    return f"{web}/compare/commits?sourceBranch={ref(head)}&targetBranch={ref(base)}"


_AZURE_SSH = re.compile(r"^/?v3/(?P<org>[^/]+)/(?P<project>[^/]+)/(?P<repo>[^/]+?)/?$")


def azure_devops_web_url(remote: RemoteUrl) -> str | None:
    """https://[org@]dev.azure.com/org/project/_git/repo is its own page; ssh remotes
    (git@ssh.dev.azure.com:v3/org/project/repo, org@vs-ssh.visualstudio.com:v3/...) are turned
    into it."""
    if remote.scheme in ("https", "http"):
        path = remote.path.rstrip("/")
        return f"{_web_root(remote)}{path}" if "/_git/" in path else None
    m = _AZURE_SSH.match(remote.path)
    if m is None:
        return None
    org, project, repo = m.group("org"), m.group("project"), m.group("repo")
    if remote.host.split(":")[0].endswith("visualstudio.com"):
        return f"https://{org}.visualstudio.com/{project}/_git/{repo}"
    return f"https://dev.azure.com/{org}/{project}/_git/{repo}"


def azure_devops_compare(web: str, base: Side, head: Side) -> str:
    def version(side: Side) -> str:
        kind, name = side
        return {"branch": "GB", "tag": "GT"}.get(kind, "GC") + quote(name, safe="")

    return f"{web}/branchCompare?baseVersion={version(base)}&targetVersion={version(head)}"
