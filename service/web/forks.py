"""Fork lists of a repo's origin for the API: the forge in effect, the cache, errors a user can act on."""

from __future__ import annotations

import logging
import re

from flask import current_app

from service import outbound
from service.domain.forge import ForgeConfig, forge_for_host
from service.domain.records import Repo
from service.domain.validation import InvalidValue, parse_url
from service.forges.base import Fork
from service.forges.forks import (
    ForgeError,
    ForgeNotFound,
    ForgeRateLimited,
    ForgeTokenRefused,
    ForkCache,
    origin_full_name,
)
from service.web.context import services
from service.web.errors import ApiError

log = logging.getLogger("gitferry.web")


def _cache() -> ForkCache:
    return current_app.extensions.setdefault("gitferry_fork_cache", ForkCache())  # type: ignore[no-any-return]


def origin_forge(repo: Repo) -> tuple[ForgeConfig, str]:
    """The forge entry for origin's host and the repository's name there; 422 naming the host if none."""
    try:
        host = parse_url(repo.url).host
    except InvalidValue:
        host = ""
    forge = forge_for_host(services().store.forges.in_effect(), host) if host else None
    if forge is None:
        raise ApiError(422, "no_forge_integration",
                       f"origin is on {host or 'a local path'}, which has no forge integration: add a forges "
                       f"entry for host {host!r} (GITFERRY_CONFIG or POST /api/v1/forges)" if host else
                       "origin is not on a forge host; forks need a forge integration")
    name = origin_full_name(forge, repo.url)
    if not name:
        raise ApiError(422, "no_forge_repo", f"cannot tell which {forge.kind} repository origin's URL names")
    return forge, name


def forks_of(repo: Repo, refresh: bool = False) -> tuple[ForgeConfig, list[Fork]]:
    """The forks of the repo's origin; forge failures become 502/503 answers."""
    forge, name = origin_forge(repo)
    try:
        with outbound.local_hosts(services().settings.allow_local_remotes):
            return forge, _cache().forks(forge, name, refresh=refresh)
    except ForgeRateLimited as exc:
        log.info("forks_rate_limited host=%s retry_after=%s", forge.host, exc.retry_after)
        raise ApiError(503, "forge_rate_limited", exc.message, {"Retry-After": str(exc.retry_after)}) from None
    except ForgeTokenRefused as exc:
        log.info("forks_token_refused host=%s", forge.host)
        raise ApiError(502, "forge_refused_token", exc.message) from None
    except ForgeNotFound as exc:
        raise ApiError(502, "forge_repo_not_found", exc.message) from None
    except ForgeError as exc:
        log.info("forks_forge_failed host=%s message=%s", forge.host, exc.message)
        raise ApiError(502, "forge_failed", exc.message) from None


def fork_remote(repo: Repo, full_name: str) -> tuple[str, str]:
    """(default remote name, URL) of the listed fork `full_name`; 404 when the forge does not list it."""
    forge, forks = forks_of(repo)
    fork = next((f for f in forks if f.full_name == full_name), None)
    if fork is None:  # a fork made a moment ago is not in a cached list yet
        forge, forks = forks_of(repo, refresh=True)
        fork = next((f for f in forks if f.full_name.lower() == full_name.lower()), None)
    if fork is None:
        raise ApiError(404, "fork_not_found", f"{forge.kind} lists no fork named {full_name[:200]!r}")
    url = fork.ssh_url if forge.git_protocol == "ssh" else fork.clone_url
    if not url:
        raise ApiError(502, "forge_failed", f"{forge.kind} gives no {forge.git_protocol} URL for {fork.full_name}")
    return remote_name_for(fork.owner or fork.full_name.split("/")[0]), url


def remote_name_for(owner: str) -> str:
    """A remote name from a fork owner's login: lower case, other characters as '-'."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", owner.lower()).strip("-.")
    name = re.sub(r"\.{2,}", ".", name)[:100].rstrip(".-")
    return name or "fork"
