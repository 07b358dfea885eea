"""The forges in effect: the TOML file's entries, then those added through the API; lookups by host."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from service.forges.entries import forge_config
from service.settings import ForgeConfig, Settings
from service.store import Store
from service.store.forges import ForgeStore, SecretKeyMissing

log = logging.getLogger("gitferry.forges")


def forge_store(settings: Settings, store: Store) -> ForgeStore:
    return ForgeStore(store.db, settings.secret_key)


def stored_forges(settings: Settings, store: Store) -> list[ForgeConfig]:
    """Forges added through the API, secrets decrypted; without the right key, without secrets."""
    forges = forge_store(settings, store)
    try:
        rows = forges.all()
    except SecretKeyMissing as exc:
        log.warning("forge_secrets_unreadable reason=%s", exc)
        rows = forges.all(with_secrets=False)
    return [forge_config(kind=r["kind"], host=r["host"], api_url=r["api_url"], token=r.get("token", ""),
                         webhook_secret=r.get("webhook_secret", ""), git_protocol=r["git_protocol"],
                         username=r["username"]) for r in rows]


def effective_forges(settings: Settings, store: Store) -> tuple[ForgeConfig, ...]:
    """Every forge gitferry knows; the TOML file wins when both name a host."""
    configured = {f.host for f in settings.forges}
    return settings.forges + tuple(f for f in stored_forges(settings, store) if f.host not in configured)


def forge_for_host(forges: Iterable[ForgeConfig], host: str) -> ForgeConfig | None:
    """The entry for a remote host ('host' or 'host:port'), as Settings.forge_for_host does."""
    forges = tuple(forges)
    exact = next((f for f in forges if f.host == host), None)
    return exact or next((f for f in forges if f.host == host.split(":")[0]), None)


def forge_hosts(forges: Iterable[ForgeConfig]) -> dict[str, str]:
    """host -> kind, for provider_for_url."""
    return {f.host: f.kind for f in forges}
