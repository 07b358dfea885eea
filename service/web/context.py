"""What request handlers share: settings, store, the job queue, and body/field helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from service.domain.validation import InvalidValue, storable
from service.forges.registry import provider_for_url, web_url_for
from service.jobs import JobQueue
from service.settings import Settings
from service.store import Store
from service.web.errors import ApiError
from service.web.limits import FailureLimit

_MISSING = object()


@dataclass
class Services:
    settings: Settings
    store: Store
    jobs: JobQueue
    auth_failures: FailureLimit = dataclass_field(init=False)  # wrong tokens by address (auth.py)

    def __post_init__(self) -> None:
        self.auth_failures = FailureLimit(self.settings.auth_failures, self.settings.auth_window)

    def forge_hosts(self) -> dict[str, str]:
        """host[:port] -> kind of each forge in effect."""
        return {f.host: f.kind for f in self.store.forges.in_effect()}

    def provider(self) -> Callable[[str], str]:
        """The provider of a remote URL, knowing the hosts of the forges in effect."""
        hosts = self.forge_hosts()
        return lambda url: provider_for_url(url, hosts)

    def web_url(self) -> Callable[[str], str | None]:
        """The page of the repository at a remote URL on its forge (None off known forges)."""
        hosts = self.forge_hosts()
        return lambda url: web_url_for(url, hosts)


def services() -> Services:
    return current_app.extensions["gitferry"]  # type: ignore[no-any-return]


def body_bytes(req: Request, limit: int) -> bytes:
    """The request body; 413 past `limit` bytes. A chunked body has no length to check up
    front, and a read capped at the limit stops there without a word: one byte more tells."""
    req.max_content_length = limit + 1
    raw = req.get_data(cache=True)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    return raw


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, whatever the Content-Type says."""
    raw = body_bytes(request, services().settings.max_body_bytes)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: "[[[[..."
        raise ApiError(400, "bad_json", "request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "request body must be a JSON object")
    if not _storable(body):
        raise ApiError(400, "bad_json", "request body holds a NUL character or an unpaired surrogate")
    return body


def _storable(value: Any) -> bool:
    """Whether every string in a JSON value is storable (keys too)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return all(storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(_storable, value))
    return True


def refuse_unstorable_url() -> None:
    """Before every API request: a path or query with a NUL character names nothing gitferry has."""
    if not storable(request.path) or not all(storable(k) and storable(v) for k, v in request.args.items(multi=True)):
        raise ApiError(400, "bad_request", "the URL holds a NUL character")


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
    """`body[name]` checked for type; missing and no default is a 400."""
    if name not in body or (body[name] is None and default is not _MISSING):
        if default is _MISSING:
            raise ApiError(400, "missing_field", f"field {name!r} is required")
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__.replace("str", "string").replace("int", "integer") for k in kinds)
        raise ApiError(400, "bad_field", f"field {name!r} must be {names}")
    return value


def checked(check: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a domain check; its InvalidValue becomes a 422."""
    try:
        return check(value, *args, **kwargs)
    except InvalidValue as exc:
        raise ApiError(422, "invalid", str(exc)) from exc


def wait_seconds() -> float | None:
    raw = request.args.get("wait")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise ApiError(400, "bad_query", "wait must be a number of seconds (at most 60)") from exc
    if not 0 <= seconds <= 60:
        raise ApiError(400, "bad_query", "wait must be between 0 and 60 seconds")
    services().jobs.check_place(seconds)  # refused, if it must be, before the view reads anything
    return seconds
