"""GitHub webhooks: `push` and `ping`, signed with X-Hub-Signature-256."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.forges.base import ForgeEvent, RefChange
from service.forges.signing import hex_signature_ok
from service.forges.webhooks import (
    clone_urls,
    delivery_id,
    event_name,
    flag,
    member,
    obj,
    optional_text,
    ref_name,
    sha,
    text,
)

SIGNATURE = "X-Hub-Signature-256"


class GitHubWebhook:
    forge = "github"
    event_headers: tuple[str, ...] = ("X-GitHub-Event",)
    delivery_headers: tuple[str, ...] = ("X-GitHub-Delivery",)

    def accepts(self, headers: Mapping[str, str]) -> bool:
        return True

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        return bool((headers.get(SIGNATURE) or "").strip())

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        # The SHA-1 X-Hub-Signature is still sent but not accepted.
        return hex_signature_ok(headers.get(SIGNATURE), secret, body, prefix="sha256=")

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        delivery = delivery_id(headers, *self.delivery_headers)
        event = event_name(headers, *self.event_headers)
        if event != "push":
            # No field is required, but a repository named here lets the intake pick its host's secret.
            repo = payload.get("repository") if isinstance(payload, dict) else None
            if not isinstance(repo, dict):
                return ForgeEvent(self.forge, delivery, event)
            name = repo.get("full_name")
            return ForgeEvent(self.forge, delivery, event, full_name=name if isinstance(name, str) else "",
                              clone_urls=_clone_urls(repo), web_url=optional_text(repo, "html_url"))
        body = obj(payload, "body")
        repo = member(body, "repository", "")
        change = RefChange(
            ref=ref_name(body.get("ref"), "ref"),
            before=sha(body.get("before"), "before"),
            after=sha(body.get("after"), "after"),
            forced=flag(body, "forced", ""),
        )
        return ForgeEvent(
            forge=self.forge,
            delivery_id=delivery,
            kind="push",
            full_name=text(repo, "full_name", "repository"),
            clone_urls=_clone_urls(repo),
            web_url=optional_text(repo, "html_url"),
            changes=(change,),
        )


def _clone_urls(repo: dict[str, Any]) -> tuple[str, ...]:
    return clone_urls([repo.get("clone_url"), repo.get("ssh_url"), repo.get("git_url")])
