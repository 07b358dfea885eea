"""Bitbucket Cloud webhooks: `repo:push`, signed with X-Hub-Signature when the hook has a secret.

The repository object carries no clone URL; the event names the repository by its full name only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.forges.base import ZERO_SHA, ForgeEvent, RefChange
from service.forges.signing import hex_signature_ok
from service.forges.webhooks import (
    bad_payload,
    delivery_id,
    event_name,
    flag,
    header,
    items,
    member,
    obj,
    sha,
    text,
)

SIGNATURE = "X-Hub-Signature"
WEB = "https://bitbucket.org/"
REF_PREFIX = {"branch": "refs/heads/", "named_branch": "refs/heads/", "tag": "refs/tags/"}


class BitbucketCloudWebhook:
    forge = "bitbucket-cloud"
    event_headers: tuple[str, ...] = ("X-Event-Key",)
    delivery_headers: tuple[str, ...] = ("X-Request-UUID",)

    def accepts(self, headers: Mapping[str, str]) -> bool:
        # Only Cloud sends these two; Server sends X-Request-Id instead.
        return bool(header(headers, "X-Request-UUID", "X-Hook-UUID"))

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        return bool(header(headers, SIGNATURE))

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        return hex_signature_ok(headers.get(SIGNATURE), secret, body, prefix="sha256=")

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        delivery = delivery_id(headers, *self.delivery_headers)
        event = event_name(headers, *self.event_headers)
        if event != "repo:push":
            return ForgeEvent(self.forge, delivery, event)
        body = obj(payload, "body")
        full_name = text(member(body, "repository", ""), "full_name", "repository")
        changes = items(member(body, "push", ""), "changes", "push")
        return ForgeEvent(
            forge=self.forge,
            delivery_id=delivery,
            kind="push",
            full_name=full_name,
            # links.html.href is not always bitbucket.org itself (seen: api.bitbucket.org), so derive it.
            web_url=WEB + full_name,
            changes=tuple(_change(c, f"push.changes[{i}]") for i, c in enumerate(changes)),
        )


def _change(change: dict[str, Any], where: str) -> RefChange:
    old, new = change.get("old"), change.get("new")  # null when the ref is created / deleted
    if old is None and new is None:
        raise bad_payload(f"{where} has neither old nor new")
    side = obj(new if new is not None else old, f"{where}.{'new' if new is not None else 'old'}")
    kind = side.get("type")
    if kind not in REF_PREFIX:
        raise bad_payload(f"{where} has an unknown ref type {kind!r}")
    return RefChange(
        ref=REF_PREFIX[kind] + text(side, "name", where),
        before=_target(old, f"{where}.old"),
        after=_target(new, f"{where}.new"),
        forced=flag(change, "forced", where),
    )


def _target(side: Any, where: str) -> str:
    if side is None:
        return ZERO_SHA
    return sha(member(obj(side, where), "target", where).get("hash"), f"{where}.target.hash")
