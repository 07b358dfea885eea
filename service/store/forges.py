"""Forges added through the API, with their token and webhook secret encrypted at rest."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.repos import NameTaken
from service.store.tables import forges, utcnow

Row = dict[str, Any]


class SecretKeyMissing(Exception):
    """A secret has to be stored or read, and GITFERRY_SECRET_KEY is not set (or is not the one used)."""


def fernet(secret_key: str) -> Fernet:
    """The Fernet key derived from GITFERRY_SECRET_KEY (any string of 16+ characters)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gitferry forge secrets").derive(
        secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class ForgeStore:
    def __init__(self, db: Database, secret_key: str):
        self.db = db
        self.secret_key = secret_key

    def _seal(self, value: str) -> str | None:
        if not value:
            return None
        if not self.secret_key:
            raise SecretKeyMissing("storing a token or webhook secret needs GITFERRY_SECRET_KEY")
        return fernet(self.secret_key).encrypt(value.encode()).decode()

    def _open(self, value: str | None) -> str:
        if not value:
            return ""
        if not self.secret_key:
            raise SecretKeyMissing("reading stored forge secrets needs GITFERRY_SECRET_KEY")
        try:
            return fernet(self.secret_key).decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyMissing("GITFERRY_SECRET_KEY is not the key the forge secrets were stored with") from exc

    def add(self, *, kind: str, host: str, api_url: str, token: str, webhook_secret: str, git_protocol: str,
            username: str) -> None:
        values = dict(kind=kind, host=host, api_url=api_url, token_encrypted=self._seal(token),
                      webhook_secret_encrypted=self._seal(webhook_secret), git_protocol=git_protocol,
                      username=username, created_at=utcnow())
        try:
            with self.db.tx(write=True) as conn:
                conn.execute(insert(forges).values(**values))
        except IntegrityError as exc:
            raise NameTaken(host) from exc

    def all(self, with_secrets: bool = True) -> list[Row]:
        """Stored entries; with_secrets=False leaves token and webhook_secret as "set or not"."""
        with self.db.tx() as conn:
            rows = [dict(r) for r in conn.execute(select(forges).order_by(forges.c.host)).mappings()]
        for row in rows:
            sealed_token, sealed_secret = row.pop("token_encrypted"), row.pop("webhook_secret_encrypted")
            row["has_token"], row["has_webhook_secret"] = bool(sealed_token), bool(sealed_secret)
            if with_secrets:
                row["token"], row["webhook_secret"] = self._open(sealed_token), self._open(sealed_secret)
        return rows

    def delete(self, host: str) -> bool:
        with self.db.tx(write=True) as conn:
            return bool(conn.execute(delete(forges).where(forges.c.host == host)).rowcount)
