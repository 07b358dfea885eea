"""Gitea and Forgejo forks through their REST API (every page, following the Link header)."""

from __future__ import annotations

from urllib.parse import quote

from service.domain.forge import ForgeConfig
from service.forges.base import Fork
from service.forges.gitea import DRIVER
from service.forges.http import ForgeUnavailable, http_get, json_of, new_session, repo_path

NAME = "Gitea"
PAGE = 50  # Gitea's default MAX_RESPONSE_ITEMS


def full_name(path: str, forge: ForgeConfig) -> str:
    """owner/repo from a remote URL's path."""
    segments = repo_path(path, forge.api_url)
    return "/".join(segments[-2:]) if len(segments) >= 2 else ""


def list_forks(forge: ForgeConfig, name: str) -> list[Fork]:
    owner, _, repo = name.partition("/")
    session = new_session()
    if forge.token:
        session.headers["Authorization"] = f"token {forge.token}"
    url: str | None = f"{forge.api_url}/api/v1/repos/{quote(owner)}/{quote(repo)}/forks?page=1&limit={PAGE}"
    forks: list[Fork] = []
    try:
        for _ in range(1000):  # a forge that links pages in a circle must not hold the request forever
            if url is None:
                return forks
            response = http_get(session, url, NAME)
            page = json_of(response, NAME)
            if not isinstance(page, list):
                raise ForgeUnavailable(f"{NAME} answered with something that is not a list of forks")
            forks += [_fork(raw) for raw in page]
            url = response.links.get("next", {}).get("url")
        raise ForgeUnavailable(f"{NAME} kept answering with more pages")
    finally:
        session.close()


def _fork(raw: dict) -> Fork:  # type: ignore[type-arg]
    return Fork(full_name=raw["full_name"], owner=(raw.get("owner") or {}).get("login", ""),
                clone_url=raw.get("clone_url") or "", ssh_url=raw.get("ssh_url") or "",
                web_url=raw.get("html_url") or "", provider=DRIVER.provider)
