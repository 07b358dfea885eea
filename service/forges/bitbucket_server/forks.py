"""Bitbucket Server / Data Center forks through atlassian-python-api (isLastPage / nextPageStart)."""

from __future__ import annotations

from urllib.parse import quote

from atlassian import Bitbucket

from service.domain.forge import ForgeConfig
from service.forges.base import Fork
from service.forges.bitbucket_server import DRIVER
from service.forges.http import TIMEOUT, new_session, plain_clone_url, repo_path, requests_errors

NAME = "Bitbucket Server"


def full_name(path: str, forge: ForgeConfig) -> str:
    """KEY/slug from a remote URL's path: https .../scm/KEY/slug.git, ssh .../KEY/slug.git."""
    segments = repo_path(path, forge.api_url)
    if "scm" in segments:
        segments = segments[segments.index("scm") + 1:]
    if len(segments) < 2:
        return ""
    key, slug = segments[-2:]
    # Clone URLs spell project keys in lower case; personal projects (~user) keep the user slug.
    return f"{key if key.startswith('~') else key.upper()}/{slug}"


def list_forks(forge: ForgeConfig, name: str) -> list[Fork]:
    session = new_session()
    # HTTP access tokens (user, project or repository) all work as Bearer on the REST API.
    bitbucket = Bitbucket(url=forge.api_url, token=forge.token or None, session=session, timeout=TIMEOUT,
                          backoff_and_retry=False, retry_with_header=False)
    key, _, slug = name.partition("/")
    # links.self in answers are web pages, not REST URLs: build the REST path ourselves.
    path = f"rest/api/1.0/projects/{quote(key)}/repos/{quote(slug)}/forks"
    with session, requests_errors(NAME):
        return [_fork(raw) for raw in bitbucket._get_paged(path, params={"limit": 100})]


def _fork(raw: dict) -> Fork:  # type: ignore[type-arg]
    project = raw.get("project") or {}
    links = raw.get("links") or {}
    clone = {c.get("name"): c.get("href", "") for c in links.get("clone") or []}
    web = next((link.get("href", "") for link in links.get("self") or []), "")
    key = project.get("key", "")
    return Fork(full_name=f"{key}/{raw['slug']}", owner=key, clone_url=plain_clone_url(clone.get("http", "")),
                ssh_url=clone.get("ssh", ""), web_url=web, provider=DRIVER.provider)
