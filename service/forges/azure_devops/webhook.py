"""Azure DevOps service hooks: `git.push`, authenticated by HTTP basic auth whose password is the secret.

Azure DevOps signs nothing; the delivery id is the body's `id`, not a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from service.forges.base import ForgeEvent, RefChange
from service.forges.signing import basic_password_ok
from service.forges.webhooks import (
    bad_payload,
    checked_delivery_id,
    clone_urls,
    header,
    items,
    member,
    obj,
    optional_text,
    ref_name,
    sha,
    text,
)


class AzureDevOpsWebhook:
    forge = "azure-devops"
    event_headers: tuple[str, ...] = ()  # eventType and id are in the body
    delivery_headers: tuple[str, ...] = ()

    def accepts(self, headers: Mapping[str, str]) -> bool:
        return True

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        return bool(header(headers, "Authorization"))

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        return basic_password_ok(header(headers, "Authorization"), secret)

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        body = obj(payload, "body")
        delivery = checked_delivery_id(body.get("id"), "the body's id")
        event = body.get("eventType")
        if not isinstance(event, str) or not event.strip():
            raise bad_payload("eventType is missing or not a string")
        if event != "git.push":
            return ForgeEvent(self.forge, delivery, event)
        resource = member(body, "resource", "")
        repo = member(resource, "repository", "resource")
        project = member(repo, "project", "resource.repository")
        remote = text(repo, "remoteUrl", "resource.repository")
        project_name = text(project, "name", "resource.repository.project")
        full_name = f"{project_name}/{text(repo, 'name', 'resource.repository')}"
        changes = tuple(
            RefChange(
                ref=ref_name(update.get("name"), f"resource.refUpdates[{i}].name"),
                before=sha(update.get("oldObjectId"), f"resource.refUpdates[{i}].oldObjectId"),
                after=sha(update.get("newObjectId"), f"resource.refUpdates[{i}].newObjectId"),
            )
            for i, update in enumerate(items(resource, "refUpdates", "resource"))
        )
        return ForgeEvent(
            forge=self.forge,
            delivery_id=delivery,
            kind="push",
            full_name=full_name,
            clone_urls=clone_urls([remote, repo.get("sshUrl")]),
            # remoteUrl is also the browser URL, often with the organization as user name in it.
            web_url=optional_text(repo, "webUrl") or _without_user(remote),
            changes=changes,
        )


def _without_user(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
