"""Which managed remotes a forge event is about: URLs reduced to one comparable key."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from service.domain.validation import InvalidValue, parse_url

_AZURE_HOSTS = ("dev.azure.com", "ssh.dev.azure.com")


@lru_cache(maxsize=4096)  # every webhook names the same few URLs
def url_key(url: str) -> str | None:
    """`host/path` that https, ssh and scp-like URLs of one repository share; None if unparsable.

    Case, a `.git` suffix, default ports, credentials and ssh ports do not count.
    """
    try:
        parsed = parse_url(url)
    except InvalidValue:
        return None
    host = parsed.host.lower()
    if parsed.scheme in ("ssh", "git+ssh", "ssh+git"):
        host = host.split(":")[0]  # ssh ports say nothing about which repository it is
    path = parsed.path.strip("/").lower().removesuffix(".git").strip("/")
    if not path:
        return None
    bare_host = host.split(":")[0]
    if bare_host in _AZURE_HOSTS or bare_host.endswith(".visualstudio.com"):
        return _azure_key(bare_host, path)
    return f"{host}/{path}"


def _azure_key(host: str, path: str) -> str:
    # dev.azure.com/ORG/PROJECT/_git/REPO, ssh.dev.azure.com:v3/ORG/PROJECT/REPO and
    # ORG.visualstudio.com/[DefaultCollection/]PROJECT/_git/REPO are one repository.
    parts = [p for p in path.split("/") if p]
    if host == "ssh.dev.azure.com" and parts[:1] == ["v3"]:
        parts = parts[1:]
    elif host.endswith(".visualstudio.com"):
        parts = [host.split(".")[0]] + [p for p in parts if p != "defaultcollection"]
    parts = [p for p in parts if p != "_git"]
    return "dev.azure.com/" + "/".join(parts)


def event_keys(clone_urls: Iterable[str], web_url: str, full_name: str,
               name_hosts: Iterable[str] = ()) -> set[str]:
    """Keys a delivery's repository may be managed under.

    `name_hosts` are forge hosts where the repository is known by `full_name` alone (Bitbucket
    Cloud sends no clone URL).
    """
    keys = {k for k in (url_key(u) for u in [*clone_urls, web_url] if u) if k}
    if full_name:
        keys |= {f"{host.lower()}/{full_name.strip('/').lower()}" for host in name_hosts}
    return keys
