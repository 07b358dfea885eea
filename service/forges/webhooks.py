"""The small readers the webhook drivers share, so every driver answers a malformed body the same way:
WebhookError(400, "bad_payload", "<what is missing>"), never KeyError or TypeError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from service.forges.base import WebhookError

MAX_DELIVERY_ID = 200
MAX_EVENT_NAME = 100
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories


def bad_payload(message: str) -> WebhookError:
    return WebhookError(400, "bad_payload", message)


def header(headers: Mapping[str, str], *names: str) -> str:
    """The first of `names` present and non-blank, stripped; "" if none is."""
    for name in names:
        value = headers.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def delivery_id(headers: Mapping[str, str], *names: str) -> str:
    return checked_delivery_id(header(headers, *names), " or ".join(names))


def checked_delivery_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, "no_delivery_id", f"no delivery id in {where}")
    stripped: str = value.strip()
    if len(stripped) > MAX_DELIVERY_ID:
        raise WebhookError(400, "bad_delivery_id", f"{where} is longer than {MAX_DELIVERY_ID} characters")
    return stripped


def event_name(headers: Mapping[str, str], *names: str) -> str:
    name = header(headers, *names)
    if not name:
        raise WebhookError(400, "no_event", f"no event name in {' or '.join(names)}")
    if len(name) > MAX_EVENT_NAME:  # no forge's event is named at such length, and none is stored so
        raise WebhookError(400, "bad_event", f"{' or '.join(names)} is longer than {MAX_EVENT_NAME} characters")
    return name


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_payload(f"{where} is missing or not an object")
    return value


def member(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    return obj(parent.get(key), f"{where}.{key}" if where else key)


def items(parent: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """A required list of objects."""
    value = parent.get(key)
    name = f"{where}.{key}" if where else key
    if not isinstance(value, list):
        raise bad_payload(f"{name} is missing or not a list")
    return [obj(entry, f"{name}[{i}]") for i, entry in enumerate(value)]


def text(parent: dict[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad_payload(f"{where}.{key} is missing or not a string" if where else f"{key} is missing or not a string")
    return value.strip()


def optional_text(parent: dict[str, Any], key: str) -> str:
    value = parent.get(key)
    return value.strip() if isinstance(value, str) else ""


def flag(parent: dict[str, Any], key: str, where: str) -> bool:
    value = parent.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_payload(f"{where}.{key} is not a boolean" if where else f"{key} is not a boolean")
    return value


def sha(value: Any, where: str) -> str:
    """A commit id: 40 (or 64) hex digits, all zeros for a ref created or deleted."""
    if not isinstance(value, str) or not _SHA.fullmatch(value.strip().lower()):
        raise bad_payload(f"{where} is not a commit id")
    return value.strip().lower()


def ref_name(value: Any, where: str) -> str:
    """A fully qualified ref (refs/heads/x, refs/tags/v1)."""
    if not isinstance(value, str) or not value.startswith("refs/") or len(value) <= len("refs/"):
        raise bad_payload(f"{where} is not a fully qualified ref")
    return value


def clone_urls(candidates: Iterable[Any]) -> tuple[str, ...]:
    """The usable clone URLs among `candidates`, in order, without duplicates or git:// URLs."""
    seen: list[str] = []
    for url in candidates:
        if isinstance(url, str) and url.strip() and not url.strip().lower().startswith("git://") \
                and url.strip() not in seen:
            seen.append(url.strip())
    return tuple(seen)
