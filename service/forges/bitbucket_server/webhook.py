"""Bitbucket Server / Data Center webhooks: `repo:refs_changed` and `diagnostics:ping`, X-Hub-Signature."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.forges.base import ForgeEvent, RefChange
from service.forges.signing import hex_signature_ok
from service.forges.webhooks import (
    clone_urls,
    delivery_id,
    event_name,
    header,
    items,
    member,
    obj,
    ref_name,
    sha,
    text,
)

SIGNATURE = "X-Hub-Signature"


class BitbucketServerWebhook:
    forge = "bitbucket-server"
    event_headers: tuple[str, ...] = ("X-Event-Key",)
    delivery_headers: tuple[str, ...] = ("X-Request-Id",)

    def accepts(self, headers: Mapping[str, str]) -> bool:
        # Cloud marks its deliveries with X-Request-UUID / X-Hook-UUID; Server always sends X-Event-Key.
        return bool(header(headers, "X-Event-Key")) and not header(headers, "X-Request-UUID", "X-Hook-UUID")

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        return bool(header(headers, SIGNATURE))

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        return hex_signature_ok(headers.get(SIGNATURE), secret, body, prefix="sha256=")

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        delivery = delivery_id(headers, *self.delivery_headers)
        event = event_name(headers, *self.event_headers)
        if event == "diagnostics:ping":  # the "Test connection" button; body is {"test": true}
            return ForgeEvent(self.forge, delivery, "ping")
        if event != "repo:refs_changed":
            return ForgeEvent(self.forge, delivery, event)
        body = obj(payload, "body")
        repo = member(body, "repository", "")
        links = obj(repo.get("links", {}), "repository.links")
        clone = links.get("clone", [])
        self_links = links.get("self", [])
        return ForgeEvent(
            forge=self.forge,
            delivery_id=delivery,
            kind="push",
            full_name=f"{text(member(repo, 'project', 'repository'), 'key', 'repository.project')}/"
            f"{text(repo, 'slug', 'repository')}",
            clone_urls=clone_urls(link.get("href") for link in _links(clone)),
            web_url=next((link["href"] for link in _links(self_links) if isinstance(link.get("href"), str)), ""),
            changes=tuple(_change(c, f"changes[{i}]") for i, c in enumerate(items(body, "changes", ""))),
        )


def _links(value: Any) -> list[dict[str, Any]]:
    return [link for link in value if isinstance(link, dict)] if isinstance(value, list) else []


def _change(change: dict[str, Any], where: str) -> RefChange:
    ref = change.get("refId")
    if ref is None and isinstance(change.get("ref"), dict):
        ref = change["ref"].get("id")
    # ADD sends fromHash and DELETE toHash as 40 zeros already.
    return RefChange(
        ref=ref_name(ref, f"{where}.ref.id"),
        before=sha(change.get("fromHash"), f"{where}.fromHash"),
        after=sha(change.get("toHash"), f"{where}.toHash"),
    )
