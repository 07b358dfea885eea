"""A forges entry, from the TOML file or the API, checked against its forge and completed with its defaults."""

from __future__ import annotations

from collections.abc import Mapping

from service.domain.forge import ForgeConfig
from service.forges.base import ForgeDriver
from service.forges.registry import BY_KIND, KINDS

GIT_PROTOCOLS = ("https", "ssh")


class ForgeEntryError(ValueError):
    """A forges entry gitferry cannot work with; the message names the field, not where the entry is."""


def forge_from_entry(entry: Mapping[str, object]) -> ForgeConfig:
    """The forge an entry describes, with its forge's well-known host and API URL filled in."""
    driver = _driver(entry.get("kind"))
    host, api_url = _where(entry, driver)
    protocol = entry.get("git_protocol", "https")
    if not isinstance(protocol, str) or protocol not in GIT_PROTOCOLS:
        raise ForgeEntryError(f"git_protocol must be {' or '.join(GIT_PROTOCOLS)}")
    token, webhook_secret, username = _text(entry, "token"), _text(entry, "webhook_secret"), _text(entry, "username")
    if token and not username and not driver.git_username:
        raise ForgeEntryError(f"{driver.kind} needs username (the token's owner) for git over HTTPS")
    return forge_config(kind=driver.kind, host=host, api_url=api_url, token=token, webhook_secret=webhook_secret,
                        git_protocol=protocol, username=username)


def forge_config(*, kind: str, host: str, api_url: str, token: str, webhook_secret: str, git_protocol: str,
                 username: str) -> ForgeConfig:
    """A ForgeConfig that knows its forge's git user name (none for a kind this version does not know)."""
    driver = BY_KIND.get(kind)
    return ForgeConfig(kind=kind, host=host, api_url=api_url, token=token, webhook_secret=webhook_secret,
                       git_protocol=git_protocol, username=username,
                       forge_git_username=driver.git_username if driver else "")


def _driver(kind: object) -> ForgeDriver:
    driver = BY_KIND.get(kind) if isinstance(kind, str) else None
    if driver is None:
        raise ForgeEntryError(f"kind must be one of {', '.join(KINDS)}")
    return driver


def _where(entry: Mapping[str, object], driver: ForgeDriver) -> tuple[str, str]:
    """host and api_url; only the SaaS forge's own host implies its API URL."""
    host = str(entry.get("host") or driver.default_host).lower()
    if not host:
        raise ForgeEntryError(f"{driver.kind} needs a host")
    api_url = str(entry.get("api_url") or (driver.default_api_url if host == driver.default_host else "")).rstrip("/")
    if not api_url:
        raise ForgeEntryError(f"{driver.kind} on {host} needs an api_url")
    return host, api_url


def _text(entry: Mapping[str, object], key: str) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise ForgeEntryError(f"{key} must be a string")
    return value
