"""Dashboard sessions: an API token exchanged for a signed, expiring cookie; CSRF on every change.

The cookie keeps the token's hash, never the token: a revoked token ends its sessions at their
next request. Each session has a CSRF token of its own, sent back by every form (a hidden field)
and every htmx request (a header).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Request, Response, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.domain.types import Scope
from service.store.tokens import hash_token
from service.web.auth import ADMIN_TOKEN_NAME
from service.web.context import services
from service.web.errors import ApiError
from service.web.limits import client_address

COOKIE = "gitferry_session"
NOTICE = "gitferry_notice"
LIFETIME = 12 * 3600  # seconds a sign-in lasts
KEY_FILE = "dashboard.key"


@dataclass(frozen=True)
class Session:
    token_hash: str
    csrf: str
    scope: Scope
    token_name: str  # what the jobs it queues say they were started by


def _key() -> bytes:
    """The key that signs the cookies: from GITFERRY_SECRET_KEY when set (the same in every web
    process and host), else a random key kept in the data dir (made once, for this user only)."""
    cached: bytes | None = current_app.extensions.get("gitferry_dashboard_key")
    if cached is not None:
        return cached
    settings = services().settings
    if settings.secret_key:
        key = hmac.new(settings.secret_key.encode(), b"gitferry dashboard sessions", hashlib.sha256).digest()
    else:
        key = _key_file(settings.data_dir / KEY_FILE)
    current_app.extensions["gitferry_dashboard_key"] = key
    return key


def _key_file(path: Path) -> bytes:
    """The key in `path`, made whole in a file of its own and linked there: a web process that
    starts at the same moment reads either no file or the whole key, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(draft, path)
        except FileExistsError:  # another web process linked its key first: that one holds
            pass
        finally:
            draft.unlink()
    return path.read_bytes()


def _signer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_key(), salt=f"gitferry-{purpose}")


def named_scope_of_hash(token_hash: str) -> tuple[str, Scope] | None:
    """The name and scope of a token by its hash: GITFERRY_ADMIN_TOKEN's, or a stored token's."""
    svc = services()
    admin = svc.settings.admin_token
    if admin and hmac.compare_digest(hash_token(admin), token_hash):
        return ADMIN_TOKEN_NAME, Scope.ADMIN
    found = svc.store.tokens.named_scope_of_hash(token_hash)
    return (found[0], Scope(found[1])) if found else None


def check_token(request: Request, token: str) -> str:
    """The hash of a token given to sign in; 401 (or 429, counted as the API counts) when wrong."""
    svc = services()
    address = client_address(request, svc.settings.proxy_hops)
    wait = svc.auth_failures.retry_after(address)
    if wait:
        raise ApiError(429, "rate_limited", f"too many wrong tokens from this address; retry in {wait} s")
    token_hash = hash_token(token.strip())
    if not token.strip() or named_scope_of_hash(token_hash) is None:
        svc.auth_failures.failed(address)
        raise ApiError(401, "unauthorized", "that token is unknown or revoked")
    return token_hash


def current(request: Request) -> Session | None:
    """The request's session, if its cookie is good, unexpired and its token still valid."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        token_hash, csrf = _signer("session").loads(raw, max_age=LIFETIME)
    except (BadSignature, ValueError, TypeError):
        return None
    found = named_scope_of_hash(str(token_hash))
    return Session(str(token_hash), str(csrf), found[1], found[0]) if found else None


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https (behind a proxy: as the proxy says)."""
    hops = services().settings.proxy_hops
    forwarded = request.headers.get("X-Forwarded-Proto", "") if hops else ""
    return request.is_secure or forwarded.split(",")[-1].strip().lower() == "https"


def start(response: Response, request: Request, token_hash: str) -> None:
    value = _signer("session").dumps([token_hash, secrets.token_urlsafe(24)])
    response.set_cookie(COOKIE, value, max_age=LIFETIME, httponly=True, samesite="Strict",
                        secure=is_https(request), path="/")


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")


def csrf_ok(request: Request, session: Session) -> bool:
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf", "")
    return bool(given) and hmac.compare_digest(given.encode(), session.csrf.encode())


def sign_in_csrf(request: Request) -> str:
    """The sign-in form's CSRF value (no session yet): a random value in a cookie, echoed by the form."""
    return request.cookies.get("gitferry_sign_in") or secrets.token_urlsafe(24)


def sign_in_csrf_ok(request: Request) -> bool:
    cookie = request.cookies.get("gitferry_sign_in", "")
    given = request.form.get("csrf", "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), given.encode())


def set_sign_in_csrf(response: Response, request: Request, value: str) -> None:
    response.set_cookie("gitferry_sign_in", value, max_age=3600, httponly=True, samesite="Strict",
                        secure=is_https(request), path="/dashboard/sign-in")


def set_notice(response: Response, request: Request, text: str, failed: bool = False, page: str = "") -> None:
    """A line (what an action did) for the page the action leads to, and its reloads, for a minute; not for
    other pages. Signed, so that nobody else writes it."""
    value = _signer("notice").dumps([text[:500], failed, page])
    response.set_cookie(NOTICE, value, max_age=60, httponly=True, samesite="Strict",
                        secure=is_https(request), path="/dashboard")


def take_notice(request: Request) -> tuple[str, bool] | None:
    raw = request.cookies.get(NOTICE)
    if not raw:
        return None
    try:
        text, failed, page = _signer("notice").loads(raw, max_age=60)
    except (BadSignature, ValueError, TypeError):
        return None
    return (str(text), bool(failed)) if page in ("", request.script_root + request.path) else None
