"""Bearer tokens and scopes: read < write < admin."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from service.domain.types import Scope
from service.jobs import STARTED_BY
from service.store.tokens import hash_token
from service.web.context import services
from service.web.errors import ApiError
from service.web.limits import client_address

F = TypeVar("F", bound=Callable[..., Any])
# What jobs started with GITFERRY_ADMIN_TOKEN, which has no stored name, say they were started by.
ADMIN_TOKEN_NAME = "GITFERRY_ADMIN_TOKEN"


def token_scope() -> Scope:
    """The scope of the request's bearer token; 401 when missing or unknown."""
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>",
                       {"WWW-Authenticate": 'Bearer realm="gitferry"'})
    svc = services()
    address = client_address(request, svc.settings.proxy_hops)
    # An address past its limit is refused before its token is looked at, a right one too:
    # answering a right token otherwise than a wrong one would tell a guesser when it guessed.
    wait = svc.auth_failures.retry_after(address)
    if wait:
        raise ApiError(429, "rate_limited", f"too many wrong tokens from this address; retry in {wait} s",
                       {"Retry-After": str(wait)})
    admin = svc.settings.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        signed_by(ADMIN_TOKEN_NAME)
        return Scope.ADMIN
    found = svc.store.tokens.named_scope_of_hash(hash_token(token))
    if found is None:
        svc.auth_failures.failed(address)
        raise ApiError(401, "unauthorized", "unknown or revoked token",
                       {"WWW-Authenticate": 'Bearer realm="gitferry", error="invalid_token"'})
    signed_by(found[0])
    return Scope(found[1])


def signed_by(name: str | None) -> None:
    """The request being answered is signed with the token named `name`: the jobs it queues were
    started by it. Every request starts and ends with none (forget_signer)."""
    STARTED_BY.set(name)


def forget_signer(_failure: BaseException | None = None) -> None:
    """As each request starts and ends: the thread answering it answers other requests too."""
    STARTED_BY.set(None)


def require(needed: Scope) -> Scope:
    """Check the request's token allows `needed`; 403 when it is too small."""
    scope = g.get("scope") or token_scope()
    g.scope = scope
    if not scope.allows(needed):
        raise ApiError(403, "forbidden", f"this needs a token with scope {needed.value!r}")
    return scope


def requires(needed: Scope) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require(needed)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
