"""Sync rules: when a fetch moves <remote>/<branch>, update a local branch and push it on."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.types import PullStrategy, Scope
from service.domain.validation import check_ref_name, check_remote_name
from service.store import NameTaken
from service.web.answers import find_repo
from service.web.api_branches import known_remote, new_branch_name
from service.web.auth import requires
from service.web.context import checked, field, json_body, services
from service.web.errors import ApiError
from service.web.views import rule_view

bp = Blueprint("rules", __name__)


@bp.post("/api/v1/repos/<path:name>/rules")
@requires(Scope.ADMIN)
def create_rule(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    body = json_body()
    rule_name = checked(check_remote_name, field(body, "name", str))
    remote = known_remote(repo, field(body, "remote", str))
    branch = checked(check_ref_name, field(body, "branch", str))
    local_branch = new_branch_name(repo, field(body, "local_branch", str, branch))
    strategy = field(body, "strategy", str, None)
    if strategy is not None and strategy not in {s.value for s in PullStrategy}:
        raise ApiError(422, "invalid", "strategy must be ff-or-merge, ff-only or rebase")
    push_to = field(body, "push_to", str, None)
    if push_to is not None:
        known_remote(repo, push_to)
    allow_force = field(body, "allow_force", bool, False)
    try:
        rule = services().store.rules.create(
            repo.id, name=rule_name, remote=remote, branch=branch, local_branch=local_branch,
            strategy=strategy, push_to=push_to, allow_force=allow_force)
    except NameTaken:
        raise ApiError(409, "rule_exists", f"a rule named {rule_name!r} exists already") from None
    return jsonify(rule_view(rule)), 201


@bp.get("/api/v1/repos/<path:name>/rules")
@requires(Scope.READ)
def list_rules(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    return jsonify({"rules": [rule_view(r) for r in services().store.rules.of_repo(repo.id)]})


@bp.delete("/api/v1/repos/<path:name>/rules/<rule>")
@requires(Scope.ADMIN)
def delete_rule(name: str, rule: str) -> ResponseReturnValue:
    repo = find_repo(name)
    if not services().store.rules.delete(repo.id, rule):
        raise ApiError(404, "rule_not_found", f"no rule named {rule[:100]!r}")
    return "", 204
