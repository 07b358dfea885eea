"""The dashboard's blueprint and what every page shares: who is signed in, CSRF, headers, errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Flask, Response, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from service.domain.types import Scope
from service.domain.validation import redact_url
from service.web.auth import signed_by
from service.web.dashboard import session
from service.web.errors import ApiError, error_answer

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")

# No inline script or style anywhere: htmx's own indicator style is turned off (base.html).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
OPEN = {"dashboard.sign_in", "dashboard.sign_in_form", "dashboard.static", "dashboard.home"}
# Characters that reorder or hide text: an attacker's branch name must not disguise itself.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NEEDS = {Scope.WRITE: "needs a write or admin token", Scope.ADMIN: "needs an admin token"}


def install_filters(app: Flask) -> None:
    """Every value a template shows has its direction controls made visible (then it is escaped)."""
    app.jinja_env.finalize = _shown
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["redact"] = redact_url


def _shown(value: Any) -> Any:
    """[U+202E] for a direction control: no character of it needs escaping, so markup stays markup."""
    if isinstance(value, Markup):
        return Markup(_BIDI.sub(_named, value))
    if isinstance(value, str):
        return _BIDI.sub(_named, value)
    return "" if value is None else value


def _named(found: re.Match[str]) -> str:
    return f"[U+{ord(found.group()):04X}]"


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def ago(value: datetime | None) -> str:
    """How long ago (or, for a time to come, in how long), in a person's words."""
    if value is None:
        return "never"
    seconds = int((datetime.now(UTC) - value).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            amount = f"{seconds // size} {unit}"
            break
    else:
        amount = f"{seconds} s"
    return f"in {amount}" if future else f"{amount} ago"


@bp.before_request
def signed_in() -> ResponseReturnValue | None:
    """Pages need a session; changes need its CSRF token too."""
    if request.endpoint in OPEN:
        return None
    found = session.current(request)
    if found is None:
        if request.headers.get("HX-Request"):
            return Response("", 401, {"HX-Redirect": url_for("dashboard.sign_in_form")})
        return redirect(url_for("dashboard.sign_in_form"), 303)
    g.session = found
    g.scope = found.scope  # what service.web.auth.require reads: the API's own scope checks apply
    signed_by(found.token_name)
    if request.method == "POST" and not session.csrf_ok(request, found):
        return page_error(403, "The form is out of date (its CSRF token does not match); reload the page.")
    return None


@bp.after_request
def headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Exception)
def failed(exc: Exception) -> ResponseReturnValue:
    """Every failure as the API words it (a refusal, a busy database, ...), on a page."""
    status, _code, message, headers = error_answer(exc)
    answer = make_response(page_error(status, message))
    answer.headers.update(headers)
    return answer


def page_error(status: int, message: str) -> ResponseReturnValue:
    if request.headers.get("HX-Request"):
        return render_template("dashboard/_notice.html", notice=(message, True)), status
    return render_template("dashboard/error.html", message=message, status=status), status


def render(template: str, **values: Any) -> str:
    """A page with what every page shows: who is signed in, their CSRF token, the last notice."""
    values.setdefault("notice", session.take_notice(request))
    return render_template(f"dashboard/{template}", me=g.get("session"), can=can, why_not=why_not, **values)


def can(needed: str) -> bool:
    signed = g.get("session")
    return bool(signed and signed.scope.allows(Scope(needed)))


def why_not(needed: str) -> str:
    """Why a button is off: the token's scope is too small ("" when it is not)."""
    return "" if can(needed) else NEEDS.get(Scope(needed), "")


def act(needed: Scope, done: Callable[[], str], back: str | Callable[[], str],
        again: Callable[[str], ResponseReturnValue]) -> ResponseReturnValue:
    """Run an action for a form: on success back to `back` (or where `back()` says once it ran)
    with what it did; on refusal the page again (`again` with the error) and the refusal's 4xx
    status, nothing changed."""
    if not g.session.scope.allows(needed):
        return _refused(403, f"This {NEEDS[needed]}.", again)
    try:
        what = done()
    except ApiError as exc:
        return _refused(exc.status, exc.message, again)
    where = back if isinstance(back, str) else back()
    response = make_response(redirect(where, 303))
    session.set_notice(response, request, what, page=unquote(urlsplit(where).path))
    return response


def _refused(status: int, message: str, again: Callable[[str], ResponseReturnValue]) -> ResponseReturnValue:
    answer = make_response(again(message))
    answer.status_code = status
    return answer


def form() -> dict[str, str]:
    """The posted form's fields, stripped, without the CSRF token and empty ones."""
    return {k: v.strip() for k, v in request.form.items() if k != "csrf" and v.strip()}
