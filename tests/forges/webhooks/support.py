"""Fixture bodies and the headers each forge sends with them, signed the way that forge signs."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from werkzeug.datastructures import Headers

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "s3cr3t-hook"
OLD = "1" * 40
NEW = "2" * 40
ZERO = "0" * 40


def payload(forge: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(_cached(forge, name))


_CACHE: dict[tuple[str, str], Any] = {}


def _cached(forge: str, name: str) -> Any:
    if (forge, name) not in _CACHE:
        _CACHE[(forge, name)] = json.loads((PAYLOADS / forge / f"{name}.json").read_text())
    return _CACHE[(forge, name)]


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def headers(**values: str) -> Headers:
    """Werkzeug Headers, as the intake hands them over; `X_GitHub_Event="push"` style names."""
    return Headers([(name.replace("_", "-"), value) for name, value in values.items()])
