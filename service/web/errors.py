"""JSON errors for every failure: bad input is a 4xx with a code and a message, never a trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from service.jobs import WaitsFull
from service.store import DatabaseUnavailable, why_unavailable

log = logging.getLogger("gitferry.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(Exception):
    """An answer other than success, carried up to the error handler."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify(error_body(code, message))
    response.status_code = status
    return response


def error_answer(exc: Exception) -> tuple[int, str, str, dict[str, str]]:
    """How a failure is answered: status, code, message and headers."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message, exc.headers
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        message = {
            413: "request body too large",
            404: "no such endpoint",
            405: "method not allowed here",
        }.get(status, exc.description or exc.name)
        allow = exc.get_response().headers.get("Allow") if status == 405 else None
        return status, _HTTP_CODES.get(status, "error"), message, {"Allow": allow} if allow else {}
    if isinstance(exc, WaitsFull):
        # A place frees as soon as any waiting call's job ends; most end within a second or two.
        return 429, "too_many_waits", (f"{exc.bound} calls are waiting on jobs or reads here already; retry, or "
                                       "call without ?wait and follow the job"), {"Retry-After": "2"}
    if isinstance(exc, DatabaseUnavailable):
        # e.g. the server restarted in the middle of this request; the pool reconnects for the next
        log.warning("database_unavailable reason=%s", why_unavailable(exc))
        return 503, "database_unavailable", "the database is not reachable; try again", {"Retry-After": "1"}
    log.exception("request_crashed")
    return 500, "internal", "internal error", {}


def install(app: Flask) -> None:
    @app.errorhandler(Exception)
    def answer(exc: Exception) -> Response:
        status, code, message, headers = error_answer(exc)
        response = error_response(status, code, message)
        response.headers.update(headers)
        return response
