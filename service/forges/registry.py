"""Every forge gitferry speaks to, one line each; whatever differs between forges is read from here."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from service.domain.forge import ForgeConfig
from service.domain.validation import InvalidValue, parse_url
from service.forges.base import ForgeDriver, WebhookDriver


def _driver(package: str) -> ForgeDriver:
    driver = getattr(importlib.import_module(f"service.forges.{package}"), "DRIVER", None)
    if not isinstance(driver, ForgeDriver):
        raise TypeError(f"service.forges.{package} exports no ForgeDriver named DRIVER")
    return driver


# In this order in messages and in the API's description.
DRIVERS: tuple[ForgeDriver, ...] = (
    _driver("github"),
    _driver("gitlab"),
    _driver("bitbucket_server"),
    _driver("bitbucket_cloud"),
    _driver("azure_devops"),
    _driver("gitea"),
)

OTHER = "other"  # the provider of a remote on no forge gitferry knows

BY_KIND: Mapping[str, ForgeDriver] = MappingProxyType({d.kind: d for d in DRIVERS})
KINDS = tuple(BY_KIND)
ENDPOINTS = tuple(dict.fromkeys(d.endpoint for d in DRIVERS))
PROVIDERS = (*dict.fromkeys(d.provider for d in DRIVERS), OTHER)
_WEBHOOKS = {e: [d.webhook for d in DRIVERS if d.endpoint == e] for e in ENDPOINTS}


def drivers_for(endpoint: str) -> list[WebhookDriver]:
    """The webhook drivers behind POST /hooks/<endpoint>; empty for an unknown endpoint."""
    return _WEBHOOKS.get(endpoint, [])


def driver_for_url(url: str, forge_hosts: Mapping[str, str] | None = None) -> ForgeDriver | None:
    """The driver of the forge the remote at `url` is on; `forge_hosts` maps configured
    host[:port] to forge kind. None for a remote on no forge gitferry knows."""
    try:
        host = parse_url(url).host
    except InvalidValue:
        return None
    bare = host.split(":")[0]
    kind = (forge_hosts.get(host) or forge_hosts.get(bare)) if forge_hosts else None
    if kind:
        return BY_KIND.get(kind)
    return next((d for d in DRIVERS if d.knows_host(bare)), None)


def provider_for_url(url: str, forge_hosts: Mapping[str, str] | None = None) -> str:
    """Provider of the remote at `url` (the icon key); OTHER when on no forge gitferry knows."""
    driver = driver_for_url(url, forge_hosts)
    return driver.provider if driver else OTHER


def web_url_for(url: str, forge_hosts: Mapping[str, str] | None = None) -> str | None:
    """The page of the repository at remote `url` on its forge; None off known forges."""
    driver = driver_for_url(url, forge_hosts)
    return driver.web_url(parse_url(url)) if driver else None


def compare_url_for(url: str, base: tuple[str, str], head: tuple[str, str],
                    forge_hosts: Mapping[str, str] | None = None) -> str | None:
    """The page comparing `base` with `head` ((kind, name) each) on the forge of remote `url`."""
    driver = driver_for_url(url, forge_hosts)
    web = driver.web_url(parse_url(url)) if driver else None
    return driver.compare_url(web, base, head) if driver and web else None


def name_hosts(kind: str, forges: Iterable[ForgeConfig]) -> list[str]:
    """Hosts where a `kind` delivery that carries no clone URL names its repository by full name:
    each host configured for `kind`, else the forge's SaaS host; none for forges that send URLs."""
    driver = BY_KIND.get(kind)
    if driver is None or not driver.events_without_urls:
        return []
    return [f.host for f in forges if f.kind == kind] or [driver.default_host]
