"""API tokens, stored as SHA-256 hashes; the token itself is shown once."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from service.domain.records import Token
from service.domain.types import utcnow
from service.store.db import Database
from service.store.repos import NameTaken
from service.store.tables import tokens

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
            with self.db.write() as conn:
                conn.execute(insert(tokens).values(
                    name=name, scope=scope, token_hash=hash_token(token), created_at=utcnow()))
        except IntegrityError as exc:
            raise NameTaken(name) from exc
        return token

    def scope_of(self, token: str) -> str | None:
        return self.scope_of_hash(hash_token(token))

    def scope_of_hash(self, token_hash: str) -> str | None:
        """The scope of the token whose hash is `token_hash` (a dashboard session keeps only the hash)."""
        found = self.named_scope_of_hash(token_hash)
        return found[1] if found else None

    def named_scope_of_hash(self, token_hash: str) -> tuple[str, str] | None:
        """The name and scope of the token whose hash is `token_hash`."""
        with self.db.read() as conn:
            row = conn.execute(select(tokens.c.name, tokens.c.scope).where(tokens.c.token_hash == token_hash)).first()
        return (row[0], row[1]) if row else None

    def any(self) -> bool:
        """Whether any token was made (a first run has none)."""
        with self.db.read() as conn:
            return conn.execute(select(tokens.c.name).limit(1)).first() is not None

    def all(self) -> list[Token]:
        with self.db.read() as conn:
            rows = conn.execute(select(tokens.c.name, tokens.c.scope, tokens.c.created_at).order_by(tokens.c.name))
            return [Token(name, scope, created_at) for name, scope, created_at in rows]

    def delete(self, name: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute(delete(tokens).where(tokens.c.name == name)).rowcount)
