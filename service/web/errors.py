"""JSON errors for every failure: bad input is a 4xx with a code and a message, never a trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

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


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = {
            413: "request body too large",
            404: "no such endpoint",
            405: "method not allowed here",
        }.get(status, exc.description or exc.name)
        response = error_response(status, _HTTP_CODES.get(status, "error"), message)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError) -> Response:
        # e.g. the server restarted in the middle of this request; the pool reconnects for the next
        log.warning("database_unavailable error=%s", type(exc.orig).__name__)
        response = error_response(503, "database_unavailable", "the database is not reachable; try again")
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        log.exception("request_crashed")
        return error_response(500, "internal", "internal error")
