"""API tokens, stored as SHA-256 hashes; the token itself is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.repos import NameTaken
from service.store.tables import tokens, utcnow

TOKEN_PREFIX = "gf_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str, scope: str) -> str:
        """Store a new token and return it (the only time it is visible)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self.db.tx(write=True) as conn:
                conn.execute(insert(tokens).values(
                    name=name, scope=scope, token_hash=hash_token(token), created_at=utcnow()))
        except IntegrityError as exc:
            raise NameTaken(name) from exc
        return token

    def scope_of(self, token: str) -> str | None:
        with self.db.tx() as conn:
            row = conn.execute(
                select(tokens.c.scope).where(tokens.c.token_hash == hash_token(token))
            ).first()
        return row[0] if row else None

    def all(self) -> list[dict[str, Any]]:
        with self.db.tx() as conn:
            rows = conn.execute(select(tokens).order_by(tokens.c.name)).mappings()
            return [{"name": r["name"], "scope": r["scope"],
                     "created_at": r["created_at"].isoformat().replace("+00:00", "Z")} for r in rows]

    def delete(self, name: str) -> bool:
        with self.db.tx(write=True) as conn:
            return bool(conn.execute(delete(tokens).where(tokens.c.name == name)).rowcount)
