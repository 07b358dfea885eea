"""Bitbucket Cloud forks through atlassian-python-api (every page, following `next`)."""

from __future__ import annotations

from urllib.parse import quote

from atlassian.bitbucket import Cloud

from service.domain.forge import ForgeConfig
from service.forges.base import Fork
from service.forges.bitbucket_cloud import DRIVER
from service.forges.http import TIMEOUT, new_session, plain_clone_url, repo_path, requests_errors

NAME = "Bitbucket Cloud"


def full_name(path: str, forge: ForgeConfig) -> str:
    """workspace/slug from a remote URL's path."""
    segments = repo_path(path)
    return "/".join(segments[-2:]) if len(segments) >= 2 else ""


def list_forks(forge: ForgeConfig, name: str) -> list[Fork]:
    session = new_session()
    # Access tokens go as Bearer; with a username the token is an app password or API token (basic).
    auth = {"username": forge.username, "password": forge.token} if forge.username else {"token": forge.token}
    cloud = Cloud(url=forge.api_url, session=session, timeout=TIMEOUT, backoff_and_retry=False,
                  retry_with_header=False, **auth)
    workspace, _, slug = name.partition("/")
    with session, requests_errors(NAME):
        values = cloud._get_paged(f"repositories/{quote(workspace)}/{quote(slug)}/forks", params={"pagelen": 100})
        return [_fork(raw) for raw in values]


def _fork(raw: dict) -> Fork:  # type: ignore[type-arg]
    links = raw.get("links") or {}
    clone = {c.get("name"): c.get("href", "") for c in links.get("clone") or []}
    owner = raw.get("owner") or {}
    workspace = raw.get("workspace") or {}
    login = owner.get("username") or owner.get("nickname") or workspace.get("slug") or raw["full_name"].split("/")[0]
    return Fork(full_name=raw["full_name"], owner=login, clone_url=plain_clone_url(clone.get("https", "")),
                ssh_url=clone.get("ssh", ""), web_url=(links.get("html") or {}).get("href", ""),
                provider=DRIVER.provider)
