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


def provider_for_url(url: str, forge_hosts: Mapping[str, str] | None = None) -> str:
    """Provider of the remote at `url`; `forge_hosts` maps configured host[:port] to forge kind."""
    try:
        host = parse_url(url).host
    except InvalidValue:
        return OTHER
    bare = host.split(":")[0]
    kind = (forge_hosts.get(host) or forge_hosts.get(bare)) if forge_hosts else None
    if kind:
        driver = BY_KIND.get(kind)
        return driver.provider if driver else OTHER
    return next((d.provider for d in DRIVERS if d.knows_host(bare)), OTHER)


def name_hosts(kind: str, forges: Iterable[ForgeConfig]) -> list[str]:
    """Hosts where a `kind` delivery that carries no clone URL names its repository by full name:
    each host configured for `kind`, else the forge's SaaS host; none for forges that send URLs."""
    driver = BY_KIND.get(kind)
    if driver is None or not driver.events_without_urls:
        return []
    return [f.host for f in forges if f.kind == kind] or [driver.default_host]
