"""A repo's settings on its page: sync rules (add, edit, delete) and where finished jobs are sent
(notify URL and secret). The same functions as the REST API (api_rules, api_repos.change_repo)."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for
from flask.typing import ResponseReturnValue

from service.domain.records import Json
from service.domain.types import Scope
from service.web.answers import find_repo
from service.web.api_repos import change_repo
from service.web.api_rules import add_rule, edit_rule, remove_rule
from service.web.dashboard.repo_page import repo
from service.web.dashboard.web import act, bp, form
from service.web.errors import ApiError


def rule_body(fields: dict[str, str]) -> Json:
    """A rule's fields from its form, as the API's JSON body has them: an empty local branch is the
    remote branch's name, "repo default" and "nowhere" are null, the box unticked is no force."""
    return {"name": fields.get("name", ""), "remote": fields.get("remote", ""), "branch": fields.get("branch", ""),
            "local_branch": fields.get("local_branch"), "strategy": fields.get("strategy"),
            "push_to": fields.get("push_to"), "allow_force": fields.get("allow_force") == "yes"}


@bp.post("/dashboard/repos/<path:name>/rules")
def add_sync_rule(name: str) -> ResponseReturnValue:
    def done() -> str:
        rule = add_rule(find_repo(name), rule_body(form()))
        return f"Added the rule {rule.name}: {_what(rule.remote, rule.branch, rule.local_branch)}."

    return _act(name, done)


@bp.post("/dashboard/repos/<path:name>/rules/edit")
def edit_sync_rule(name: str) -> ResponseReturnValue:
    def done() -> str:
        fields = form()
        rule = edit_rule(find_repo(name), fields.get("rule", ""), rule_body(fields))
        return f"Changed the rule {rule.name}: {_what(rule.remote, rule.branch, rule.local_branch)}."

    return _act(name, done)


@bp.post("/dashboard/repos/<path:name>/rules/delete")
def delete_sync_rule(name: str) -> ResponseReturnValue:
    def done() -> str:
        rule = form().get("rule", "")
        remove_rule(find_repo(name), rule)
        return f"Deleted the rule {rule}."

    return _act(name, done)


def _what(remote: str, branch: str, local_branch: str) -> str:
    return f"when {remote}/{branch} moves, {local_branch} follows"


@bp.post("/dashboard/repos/<path:name>/notifications")
def notifications(name: str) -> ResponseReturnValue:
    """A new notify URL, a new secret, or both; a field left empty stays as it is."""
    def done() -> str:
        fields = form()
        body: Json = {k: fields[k] for k in ("notify_url", "notify_secret") if k in fields}
        if not body:
            raise ApiError(422, "invalid", "give a notify URL or a secret to change")
        change_repo(find_repo(name), body)
        said = [what for key, what in (("notify_url", "the notify URL"), ("notify_secret", "the secret"))
                if key in body]
        return f"Changed {' and '.join(said)} of {name}."

    return _act(name, done)


@bp.post("/dashboard/repos/<path:name>/notifications/clear")
def clear_notifications(name: str) -> ResponseReturnValue:
    """Forget the secret (`what=secret`), or the URL and the secret: no more notifications."""
    def done() -> str:
        if form().get("what") == "secret":
            change_repo(find_repo(name), {"notify_secret": None})
            return f"Removed the notification secret of {name}."
        change_repo(find_repo(name), {"notify_url": None, "notify_secret": None})
        return f"{name} sends no notifications now."

    return _act(name, done)


def _act(name: str, done: Callable[[], str]) -> ResponseReturnValue:
    """Admin only, as in the API; back to the repo's page, or the page again with why not."""
    return act(Scope.ADMIN, done, url_for("dashboard.repo", name=name),
               lambda message: repo(name, (message, True)))
