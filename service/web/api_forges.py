"""Forge integrations: the TOML file's entries and those added here (admin); secrets are never shown."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service import outbound
from service.domain.forge import ForgeConfig
from service.domain.records import Json
from service.domain.types import Scope
from service.domain.validation import is_local_host
from service.forges.accounts import TokenTest, check_token
from service.forges.entries import ForgeEntryError, forge_from_entry
from service.store import NameTaken, SecretKeyMissing
from service.web.auth import requires
from service.web.context import field, json_body, services
from service.web.errors import ApiError
from service.web.views import View, forge_view

bp = Blueprint("forges", __name__)
log = logging.getLogger("gitferry.web")
FIELDS = ("kind", "host", "api_url", "token", "webhook_secret", "git_protocol", "username")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?\Z")


@bp.get("/api/v1/forges")
@requires(Scope.ADMIN)
def list_forges() -> ResponseReturnValue:
    return jsonify({"forges": forge_views()})


def forge_views() -> list[View]:
    """Every forge in effect without its secrets: the configured ones, then those added here."""
    svc = services()
    views = [forge_view(f, "config", has_token=bool(f.token), has_webhook_secret=bool(f.webhook_secret))
             for f in svc.settings.forges]
    configured = {f.host for f in svc.settings.forges}
    views += [forge_view(f, "api", has_token=has_token, has_webhook_secret=has_secret)
              for f, has_token, has_secret in svc.store.forges.stored() if f.host not in configured]
    return views


@bp.post("/api/v1/forges")
@requires(Scope.ADMIN)
def add_forge() -> ResponseReturnValue:
    forge = add_forge_from(json_body())
    view = forge_view(forge, "api", has_token=bool(forge.token), has_webhook_secret=bool(forge.webhook_secret))
    return jsonify(view), 201


def add_forge_from(body: Json) -> ForgeConfig:
    """Add a forge from a request's fields (the API's and the dashboard's)."""
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise ApiError(400, "bad_field", f"unknown fields: {', '.join(sorted(unknown))[:200]}")
    for name in FIELDS:
        field(body, name, str, None)  # a wrong type is a 400 before any rule of forge_from_entry
    try:
        forge = forge_from_entry({k: v for k, v in body.items() if v is not None})
    except ForgeEntryError as exc:
        raise ApiError(422, "invalid", f"forge: {exc}") from None
    if not _HOST.match(forge.host):
        raise ApiError(422, "invalid", "host must be host or host:port as it appears in remote URLs")
    svc = services()
    if any(f.host == forge.host for f in svc.settings.forges):
        raise ApiError(409, "forge_exists", f"{forge.host} is configured in GITFERRY_CONFIG already")
    _check_api_url(forge.api_url, svc.settings.allow_local_remotes)
    if (forge.token or forge.webhook_secret) and not svc.settings.secret_key:
        raise ApiError(422, "secret_key_missing", "storing a forge token or webhook secret needs GITFERRY_SECRET_KEY "
                       "(the key that encrypts them at rest); set it and restart gitferry")
    try:
        svc.store.forges.add(forge)
    except NameTaken:
        raise ApiError(409, "forge_exists", f"a forge on {forge.host} exists already; delete it first") from None
    except SecretKeyMissing as exc:
        raise ApiError(422, "secret_key_missing", str(exc)) from None
    return forge


def _check_api_url(url: str, allow_local: bool) -> None:
    """gitferry sends the token there: https to a public host (http and local hosts only when allowed)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError:  # "https://[x": an unclosed IPv6 bracket
        raise ApiError(422, "invalid", "api_url is not a valid URL") from None
    if parts.scheme not in (("https", "http") if allow_local else ("https",)) or not parts.hostname:
        raise ApiError(422, "invalid", "api_url must be an https:// URL")
    if parts.username or parts.password or (not allow_local and is_local_host(parts.hostname)):
        raise ApiError(422, "invalid", "api_url must not carry credentials or point at a local or private host")


@bp.delete("/api/v1/forges/<path:host>")
@requires(Scope.ADMIN)
def delete_forge(host: str) -> ResponseReturnValue:
    delete_forge_at(host)
    return "", 204


def delete_forge_at(host: str) -> None:
    """Delete a forge added through the API (the API's and the dashboard's)."""
    svc = services()
    host = host.lower()
    if any(f.host == host for f in svc.settings.forges):
        raise ApiError(409, "forge_in_config", f"{host} comes from GITFERRY_CONFIG; remove it there")
    if not svc.store.forges.delete(host):
        raise ApiError(404, "forge_not_found", f"no forge added for host {host[:200]!r}")


@bp.post("/api/v1/forges/<path:host>/test")
@requires(Scope.ADMIN)
def forge_token_test(host: str) -> ResponseReturnValue:
    return jsonify(token_test_of(host).to_dict())


def token_test_of(host: str) -> TokenTest:
    """Ask the forge on `host` whose its token is (the API's and the dashboard's): 200 whatever the forge
    said (ok and the account, or why not); 404 for a host with no forge."""
    svc = services()
    host = host.lower()
    forge = next((f for f in svc.store.forges.in_effect() if f.host == host), None)
    if forge is None:  # added a moment ago through another web process?
        svc.store.forges.forget()
        forge = next((f for f in svc.store.forges.in_effect() if f.host == host), None)
    if forge is None:
        raise ApiError(404, "forge_not_found", f"no forge for host {host[:200]!r}")
    with outbound.local_hosts(svc.settings.allow_local_remotes):
        tested = check_token(forge)
    log.info("forge_token_tested host=%s outcome=%s", forge.host, tested.outcome)
    return tested
