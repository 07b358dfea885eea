"""Sync rules: when a fetch moves <remote>/<branch>, update a local branch and push it on."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.records import Json, Repo, Rule
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
FIELDS = ("name", "remote", "branch", "local_branch", "strategy", "push_to", "allow_force")


def rule_fields(repo: Repo, body: Json) -> dict[str, Any]:
    """A rule's fields from a request's, checked (a new rule's, and an edited one's with its old
    fields filled in): the API's and the dashboard's one validation of a rule."""
    name = checked(check_remote_name, field(body, "name", str))
    remote = known_remote(repo, field(body, "remote", str))
    branch = checked(check_ref_name, field(body, "branch", str))
    local_branch = new_branch_name(repo, field(body, "local_branch", str, branch))
    strategy = field(body, "strategy", str, None)
    if strategy is not None and strategy not in {s.value for s in PullStrategy}:
        raise ApiError(422, "invalid", "strategy must be ff-or-merge, ff-only or rebase")
    push_to = field(body, "push_to", str, None)
    if push_to is not None:
        known_remote(repo, push_to)
    return {"name": name, "remote": remote, "branch": branch, "local_branch": local_branch,
            "strategy": strategy, "push_to": push_to, "allow_force": field(body, "allow_force", bool, False)}


def add_rule(repo: Repo, body: Json) -> Rule:
    """Record a rule from a request's fields (the API's and the dashboard's)."""
    fields = rule_fields(repo, body)
    try:
        return services().store.rules.create(repo.id, **fields)
    except NameTaken:
        raise ApiError(409, "rule_exists", f"a rule named {fields['name']!r} exists already") from None


def find_rule(repo: Repo, name: str) -> Rule:
    found = services().store.rules.named(repo.id, name)
    if found is None:
        raise ApiError(404, "rule_not_found", f"no rule named {name[:100]!r}")
    return found


def edit_rule(repo: Repo, name: str, body: Json) -> Rule:
    """Change a rule's fields from a request's, the others as they were (the API's and the
    dashboard's); a field given as null goes back to its default."""
    old = find_rule(repo, name)
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise ApiError(400, "bad_field", f"a rule has no {', '.join(sorted(unknown))} to change")
    fields = rule_fields(repo, {**rule_view(old), **body})
    try:
        changed = services().store.rules.update(repo.id, old.name, **fields)
    except NameTaken:
        raise ApiError(409, "rule_exists", f"a rule named {fields['name']!r} exists already") from None
    if changed is None:  # deleted meanwhile
        raise ApiError(404, "rule_not_found", f"no rule named {name[:100]!r}")
    return changed


@bp.post("/api/v1/repos/<path:name>/rules")
@requires(Scope.ADMIN)
def create_rule(name: str) -> ResponseReturnValue:
    return jsonify(rule_view(add_rule(find_repo(name), json_body()))), 201


@bp.patch("/api/v1/repos/<path:name>/rules/<rule>")
@requires(Scope.ADMIN)
def patch_rule(name: str, rule: str) -> ResponseReturnValue:
    repo = find_repo(name)
    return jsonify(rule_view(edit_rule(repo, rule, json_body())))


@bp.get("/api/v1/repos/<path:name>/rules")
@requires(Scope.READ)
def list_rules(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    return jsonify({"rules": [rule_view(r) for r in services().store.rules.of_repo(repo.id)]})


@bp.delete("/api/v1/repos/<path:name>/rules/<rule>")
@requires(Scope.ADMIN)
def delete_rule(name: str, rule: str) -> ResponseReturnValue:
    remove_rule(find_repo(name), rule)
    return "", 204


def remove_rule(repo: Repo, rule: str) -> None:
    """Delete a rule (the API's and the dashboard's)."""
    if not services().store.rules.delete(repo.id, rule):
        raise ApiError(404, "rule_not_found", f"no rule named {rule[:100]!r}")
