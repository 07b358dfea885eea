"""One interface over every forge's fork listing, with a short-lived cache of the lists."""

from __future__ import annotations

import hashlib
import threading
import time

from service.domain.forge import ForgeConfig
from service.domain.validation import InvalidValue, parse_url
from service.forges.base import Fork, ForkLister
from service.forges.http import (
    ForgeError,
    ForgeNotFound,
    ForgeRateLimited,
    ForgeTokenRefused,
    ForgeUnavailable,
)
from service.forges.registry import BY_KIND

__all__ = ["ForgeError", "ForgeNotFound", "ForgeRateLimited", "ForgeTokenRefused", "ForgeUnavailable",
           "ForkCache", "list_forks", "origin_full_name"]

CACHE_SECONDS = 60.0


def _forks(forge: ForgeConfig) -> ForkLister:
    return BY_KIND[forge.kind].forks


def list_forks(forge: ForgeConfig, full_name: str) -> list[Fork]:
    """Every fork of `full_name` on `forge`, across all pages; ForgeError when the forge fails."""
    return _forks(forge).list_forks(forge, full_name)


def origin_full_name(forge: ForgeConfig, url: str) -> str:
    """The forge's name for the repository at `url` (owner/repo, group/sub/project, KEY/slug)."""
    try:
        path = parse_url(url).path
    except InvalidValue:
        return ""
    return _forks(forge).full_name(path, forge)


class ForkCache:
    """Fork lists by forge, repository and token, kept `seconds`; one per web process."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = 256):
        self.seconds = seconds
        self.size = size
        self._lists: dict[tuple[str, str, str, str], tuple[float, list[Fork]]] = {}
        self._lock = threading.Lock()

    def forks(self, forge: ForgeConfig, full_name: str, refresh: bool = False) -> list[Fork]:
        """The cached list unless stale or `refresh`; else ask the forge (which revalidates by ETag)."""
        key = (forge.kind, forge.api_url, full_name, hashlib.sha256(forge.token.encode()).hexdigest())
        now = time.monotonic()
        with self._lock:
            hit = self._lists.get(key)
        if hit and not refresh and now - hit[0] < self.seconds:
            return hit[1]
        forks = list_forks(forge, full_name)
        with self._lock:
            if len(self._lists) >= self.size:
                self._lists.pop(min(self._lists, key=lambda k: self._lists[k][0]))
            self._lists[key] = (now, forks)
        return forks
