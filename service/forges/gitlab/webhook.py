"""GitLab webhooks: `Push Hook` and `Tag Push Hook` (and system-hook pushes).

Authenticated by the secret token in X-Gitlab-Token, or by the newer signing token (`whsec_...`),
which signs as Standard Webhooks do: webhook-id, webhook-timestamp, webhook-signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from service.forges.base import ForgeEvent, RefChange
from service.forges.signing import same, standard_webhooks_ok
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

TOKEN = "X-Gitlab-Token"
SIGNATURE = "webhook-signature"
PUSH_EVENTS = {"Push Hook", "Tag Push Hook"}
PUSH_KINDS = {"push", "tag_push"}  # object_kind / event_name of a system hook's push
TOLERANCE = 300


class GitLabWebhook:
    forge = "gitlab"
    event_headers: tuple[str, ...] = ("X-Gitlab-Event",)
    # Idempotency-Key (GitLab 17.4+) is kept on a resend; the event UUID is not.
    delivery_headers: tuple[str, ...] = ("Idempotency-Key", "X-Gitlab-Event-UUID", "webhook-id")

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    def accepts(self, headers: Mapping[str, str]) -> bool:
        return True

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        return bool(header(headers, TOKEN, SIGNATURE))

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        if not secret:
            return False
        token = header(headers, TOKEN)
        token_ok = bool(token) and same(token, secret)
        signature = header(headers, SIGNATURE)
        signature_ok = bool(signature) and standard_webhooks_ok(
            secret,
            header(headers, "webhook-id"),
            header(headers, "webhook-timestamp"),
            signature,
            body,
            now=self.clock(),
            tolerance=TOLERANCE,
        )
        return token_ok or signature_ok

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        delivery = delivery_id(headers, *self.delivery_headers)
        event = event_name(headers, *self.event_headers)
        if event not in PUSH_EVENTS and not (event == "System Hook" and _system_push(payload)):
            return ForgeEvent(self.forge, delivery, event)
        body = obj(payload, "body")
        project = member(body, "project", "")
        change = RefChange(
            ref=ref_name(body.get("ref"), "ref"),
            before=sha(body.get("before"), "before"),
            after=sha(body.get("after"), "after"),
        )
        return ForgeEvent(
            forge=self.forge,
            delivery_id=delivery,
            kind="push",
            full_name=text(project, "path_with_namespace", "project"),
            clone_urls=clone_urls([project.get("git_http_url"), project.get("git_ssh_url")]),
            web_url=optional_text(project, "web_url"),
            changes=(change,),
        )


def _system_push(payload: Any) -> bool:
    return isinstance(payload, dict) and (
        payload.get("object_kind") in PUSH_KINDS or payload.get("event_name") in PUSH_KINDS
    )
