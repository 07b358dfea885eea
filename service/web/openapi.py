"""The OpenAPI 3.1 document of the HTTP API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("openapi", __name__)

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "gitferry", "version": "1"},
    "paths": {},
}


@bp.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(DOCUMENT)
