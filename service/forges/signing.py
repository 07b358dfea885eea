"""Constant-time checks of the signatures, tokens and passwords forges put on webhook deliveries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def same(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality that never raises on non-ASCII input."""
    return hmac.compare_digest(_b(given), _b(expected))


def hmac_sha256(key: str | bytes, body: bytes) -> bytes:
    return hmac.new(_b(key), body, hashlib.sha256).digest()


def hex_signature_ok(given: str | None, secret: str, body: bytes, prefix: str = "") -> bool:
    """`given` is `<prefix><hex HMAC-SHA256(secret, body)>` (GitHub, Bitbucket, Gitea)."""
    if not secret or not given:
        return False
    given = given.strip()
    if prefix:
        if not given.lower().startswith(prefix):
            return False
        given = given[len(prefix):]
    return same(given.lower(), hmac_sha256(secret, body).hex())


def basic_password_ok(authorization: str | None, secret: str) -> bool:
    """`Authorization: Basic base64(user:password)` with password == secret, any user."""
    if not secret or not authorization:
        return False
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    _, colon, password = decoded.partition(b":")
    return bool(colon) and same(password, secret)


def standard_webhooks_key(secret: str) -> bytes | None:
    """The HMAC key of a Standard Webhooks secret `whsec_<base64>`; None if it is not one."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def standard_webhooks_ok(
    secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes, now: float, tolerance: int = 300
) -> bool:
    """Standard Webhooks: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, space-separated entries."""
    key = standard_webhooks_key(secret) if secret else None
    if key is None or not msg_id or not signatures:
        return False
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > tolerance:  # replayed or badly skewed
        return False
    expected = base64.b64encode(hmac_sha256(key, f"{msg_id}.{sent_at}.".encode() + body))
    found = False
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and same(value, expected):
            found = True  # keep looping: the time spent must not depend on which entry matched
    return found
