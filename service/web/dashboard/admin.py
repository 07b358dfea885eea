"""Admin pages: API tokens (a new one shown once; revoke) and forges (add, test the token, delete; secrets
never shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import g, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.domain.records import Delivery
from service.domain.types import Scope
from service.forges.accounts import TokenTest
from service.forges.registry import KINDS
from service.web.api_forges import add_forge_from, delete_forge_at, forge_views, token_test_of
from service.web.api_tokens import create_token_from, revoke_token
from service.web.context import services
from service.web.dashboard.web import NEEDS, act, bp, form, render
from service.web.errors import ApiError

SCOPES = [s.value for s in Scope]


def _admin_only() -> None:
    if not g.session.scope.allows(Scope.ADMIN):
        raise ApiError(403, "forbidden", f"This page {NEEDS[Scope.ADMIN]}.")


@bp.get("/dashboard/tokens")
def tokens(notice: tuple[str, bool] | None = None, created: tuple[str, str, str] | None = None,
           ) -> str:
    _admin_only()
    values: dict[str, object] = {"tokens": services().store.tokens.all(), "scopes": SCOPES, "created": created}
    if notice is not None:
        values["notice"] = notice
    return render("tokens.html", **values)


@bp.post("/dashboard/tokens")
def create_token() -> ResponseReturnValue:
    """A new token, shown on the answer to this request only (never again, never in a redirect)."""
    if not g.session.scope.allows(Scope.ADMIN):
        return _tokens_again(f"This {NEEDS[Scope.ADMIN]}."), 403
    fields = form()
    try:
        created = create_token_from({"name": fields.get("name", ""), "scope": fields.get("scope", "")})
    except ApiError as exc:
        return _tokens_again(exc.message), exc.status
    return tokens(created=created), 201


def _tokens_again(message: str) -> str:
    return tokens((message, True))


@bp.post("/dashboard/tokens/revoke")
def revoke() -> ResponseReturnValue:
    def done() -> str:
        name = form().get("name", "")
        revoke_token(name)
        return f"Revoked token {name}."

    return act(Scope.ADMIN, done, url_for("dashboard.tokens"), _tokens_again)


@bp.get("/dashboard/forges")
def forges(notice: tuple[str, bool] | None = None, tested: TokenTest | None = None) -> str:
    _admin_only()
    values: dict[str, object] = {"forges": forge_views(), "kinds": KINDS, "tested": tested}
    if notice is not None:
        values["notice"] = notice
    return render("forges.html", **values)


def _forges_again(message: str) -> ResponseReturnValue:
    return forges((message, True))


@bp.post("/dashboard/forges")
def add_forge() -> ResponseReturnValue:
    def done() -> str:
        fields = form()
        wanted = ("kind", "host", "api_url", "token", "webhook_secret", "git_protocol", "username")
        forge = add_forge_from({k: fields[k] for k in wanted if k in fields})
        return f"Added the {forge.kind} forge on {forge.host}."

    return act(Scope.ADMIN, done, url_for("dashboard.forges"), _forges_again)


@bp.post("/dashboard/forges/test")
def forge_token_test() -> ResponseReturnValue:
    """Ask the forge whose its token is: the answer in the forge's row (htmx), or the page with it."""
    fragment = bool(request.headers.get("HX-Request"))
    try:
        _admin_only()
        tested = token_test_of(form().get("host", ""))
    except ApiError as exc:
        if fragment:
            return render_template("dashboard/_notice.html", notice=(exc.message, True)), exc.status
        return forges((exc.message, True)), exc.status
    if fragment:
        return render_template("dashboard/_token_test.html", tested=tested)
    return forges(tested=tested)


@bp.post("/dashboard/forges/delete")
def delete_forge() -> ResponseReturnValue:
    def done() -> str:
        host = form().get("host", "")
        delete_forge_at(host)
        return f"Deleted the forge on {host}."

    return act(Scope.ADMIN, done, url_for("dashboard.forges"), _forges_again)


@dataclass(frozen=True)
class DeliveryRow:
    """One line of the webhook deliveries: recorded (`delivery`) or refused before it was read (`refused`)."""

    received_at: datetime
    forge: str
    event: str
    delivery_id: str
    sender: str = ""
    refused: str = ""  # why, when refused
    delivery: Delivery | None = None


@bp.get("/dashboard/deliveries")
def deliveries() -> str:
    """Recent webhook deliveries (refused ones too), of every forge or one, and job notifications."""
    _admin_only()
    forge = request.args.get("forge", "").strip()
    if forge and forge not in KINDS:
        raise ApiError(400, "bad_forge", f"no forge kind {forge[:40]!r}; pick one of {', '.join(KINDS)}")
    store = services().store
    rows = [DeliveryRow(d.received_at, d.forge, d.event, d.delivery_id, delivery=d)
            for d in store.deliveries.recent(forge=forge or None)]
    rows += [DeliveryRow(r.received_at, r.forge, r.event, r.delivery_id, sender=r.sender, refused=r.reason)
             for r in store.refused.recent(forge=forge or None)]
    rows.sort(key=lambda row: row.received_at, reverse=True)
    return render("deliveries.html", deliveries=rows[:50], notifications=store.notifications.recent(),
                  host_of=host_of, kinds=KINDS, forge=forge)


def host_of(url: str) -> str:
    """Where a notification went, without the URL's path: chat webhook URLs carry their secret there."""
    return urlsplit(url).netloc.rpartition("@")[2] or "(no host)"
