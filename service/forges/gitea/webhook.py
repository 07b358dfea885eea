"""Gitea and Forgejo webhooks: `push`, and `delete` of a branch, signed with a bare hex HMAC.

Gitea sends no `push` when a branch is deleted, only a `delete` event that names the ref and no
commit (services/repository/push.go); that one is read as a push whose before and after are unknown.
A deleted tag gets both a `push` (after = zeros) and a `delete`; the `delete` is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.forges.base import ZERO_SHA, ForgeEvent, RefChange
from service.forges.signing import hex_signature_ok
from service.forges.webhooks import (
    clone_urls,
    delivery_id,
    event_name,
    header,
    member,
    obj,
    optional_text,
    ref_name,
    sha,
    text,
)

# Forgejo sends its own headers and, for compatibility, Gitea's (and Gitea sends Gogs' and GitHub's).
EVENT = ("X-Forgejo-Event", "X-Gitea-Event", "X-Gogs-Event")
DELIVERY = ("X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery")
SIGNATURES = (("X-Forgejo-Signature", ""), ("X-Gitea-Signature", ""), ("X-Hub-Signature-256", "sha256="))


class GiteaWebhook:
    forge = "gitea"  # Forgejo too: same payloads, same config kind
    event_headers: tuple[str, ...] = EVENT
    delivery_headers: tuple[str, ...] = DELIVERY

    def accepts(self, headers: Mapping[str, str]) -> bool:
        return True

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        return bool(header(headers, *(name for name, _ in SIGNATURES)))

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        for name, prefix in SIGNATURES:
            if header(headers, name):
                return hex_signature_ok(header(headers, name), secret, body, prefix=prefix)
        return False

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        delivery = delivery_id(headers, *DELIVERY)
        event = event_name(headers, *EVENT)
        if event == "push":
            body = obj(payload, "body")
            change = RefChange(
                ref=ref_name(body.get("ref"), "ref"),
                before=sha(body.get("before"), "before"),
                after=sha(body.get("after"), "after"),
            )
        elif event == "delete" and isinstance(payload, dict) and payload.get("ref_type") == "branch":
            body = payload
            branch = text(body, "ref", "")
            change = RefChange(ref=branch if branch.startswith("refs/") else f"refs/heads/{branch}",
                               before=ZERO_SHA, after=ZERO_SHA)
        else:
            return ForgeEvent(self.forge, delivery, event)
        repo = member(body, "repository", "")
        return ForgeEvent(
            forge=self.forge,
            delivery_id=delivery,
            kind="push",
            full_name=text(repo, "full_name", "repository"),
            clone_urls=clone_urls([repo.get("clone_url"), repo.get("ssh_url")]),
            web_url=optional_text(repo, "html_url"),
            changes=(change,),
        )
