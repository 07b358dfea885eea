"""Secrets kept at rest (forge tokens, webhook and notification secrets): Fernet under GITFERRY_SECRET_KEY."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SEALED = "gAAAAA"  # how every Fernet token begins (its version byte, then a timestamp)


class SecretKeyMissing(Exception):
    """A secret has to be stored or read, and GITFERRY_SECRET_KEY is not set (or is not the one used)."""


class Sealer:
    def __init__(self, secret_key: str):
        self.secret_key = secret_key

    def seal(self, value: str) -> str | None:
        if not value:
            return None
        return self._fernet("storing a token or secret").encrypt(value.encode()).decode()

    def open(self, sealed: str | None) -> str:
        """The secret; a value stored before secrets were sealed is given as it is."""
        if not sealed:
            return ""
        if not sealed.startswith(_SEALED):
            return sealed
        try:
            return self._fernet("reading stored secrets").decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyMissing("GITFERRY_SECRET_KEY is not the key the secrets were stored with") from exc

    def _fernet(self, doing: str) -> Fernet:
        if not self.secret_key:
            raise SecretKeyMissing(f"{doing} needs GITFERRY_SECRET_KEY")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gitferry forge secrets").derive(
            self.secret_key.encode())
        return Fernet(base64.urlsafe_b64encode(key))
