"""API tokens: created by admins, shown once, stored hashed, revoked at once."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.records import Json
from service.domain.types import Scope
from service.domain.validation import check_remote_name
from service.store import NameTaken
from service.web.auth import requires
from service.web.context import checked, field, json_body, services
from service.web.errors import ApiError
from service.web.views import token_view

bp = Blueprint("tokens", __name__)


@bp.post("/api/v1/tokens")
@requires(Scope.ADMIN)
def create_token() -> ResponseReturnValue:
    name, scope, token = create_token_from(json_body())
    return jsonify({"name": name, "scope": scope, "token": token}), 201


def create_token_from(body: Json) -> tuple[str, str, str]:
    """A new token's name, scope and the token itself (shown this once) from a request's fields."""
    # Token names follow the same simple rule as remote names.
    name = checked(check_remote_name, field(body, "name", str))
    scope = field(body, "scope", str)
    if scope not in {s.value for s in Scope}:
        raise ApiError(422, "invalid", "scope must be read, write or admin")
    try:
        token = services().store.tokens.create(name, scope)
    except NameTaken:
        raise ApiError(409, "token_exists", f"a token named {name!r} exists already") from None
    return name, scope, token


@bp.get("/api/v1/tokens")
@requires(Scope.ADMIN)
def list_tokens() -> ResponseReturnValue:
    return jsonify({"tokens": [token_view(t) for t in services().store.tokens.all()]})


@bp.delete("/api/v1/tokens/<name>")
@requires(Scope.ADMIN)
def delete_token(name: str) -> ResponseReturnValue:
    revoke_token(name)
    return "", 204


def revoke_token(name: str) -> None:
    if not services().store.tokens.delete(name):
        raise ApiError(404, "token_not_found", f"no token named {name[:100]!r}")
