"""Sync rules of a repo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.repos import NameTaken
from service.store.sql import Sql
from service.store.tables import rules, utcnow

Row = dict[str, Any]
_OF_REPO = Sql("SELECT * FROM rules WHERE repo_id = :repo_id ORDER BY name")  # every job reads them


class RuleStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, repo_id: int, **fields: Any) -> Row:
        try:
            with self.db.tx(write=True) as conn:
                conn.execute(insert(rules).values(repo_id=repo_id, created_at=utcnow(), **fields))
        except IntegrityError as exc:
            raise NameTaken(fields["name"]) from exc
        found = self.get(repo_id, fields["name"])
        assert found is not None
        return found

    def get(self, repo_id: int, name: str) -> Row | None:
        with self.db.tx() as conn:
            row = conn.execute(select(rules).where(rules.c.repo_id == repo_id, rules.c.name == name)).mappings().first()
            return dict(row) if row else None

    def of_repo(self, repo_id: int) -> list[Row]:
        with self.db.tx() as conn:
            return _OF_REPO.rows(conn, rules, repo_id=repo_id)

    def delete(self, repo_id: int, name: str) -> bool:
        with self.db.tx(write=True) as conn:
            return bool(conn.execute(delete(rules).where(rules.c.repo_id == repo_id, rules.c.name == name)).rowcount)
