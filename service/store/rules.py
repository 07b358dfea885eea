"""Sync rules of a repo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from service.domain.records import Rule
from service.domain.types import utcnow
from service.store.db import Database
from service.store.repos import NameTaken
from service.store.sql import Sql
from service.store.tables import rules

_OF_REPO = Sql("SELECT * FROM rules WHERE repo_id = :repo_id ORDER BY name", Rule)
_NAMED = Sql("SELECT * FROM rules WHERE repo_id = :repo_id AND name = :name", Rule)


class RuleStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, repo_id: int, **fields: Any) -> Rule:
        try:
            with self.db.write() as conn:
                conn.execute(insert(rules).values(repo_id=repo_id, created_at=utcnow(), **fields))
                created = _NAMED.one(conn, repo_id=repo_id, name=fields["name"])
        except IntegrityError as exc:
            raise NameTaken(fields["name"]) from exc
        assert created is not None
        return created

    def update(self, repo_id: int, current: str, /, **changes: Any) -> Rule | None:
        """Change the fields of the rule named `current` (its name too: NameTaken when another rule
        has the new one); None when the repo has no such rule."""
        new_name = changes.get("name", current)
        try:
            with self.db.write() as conn:
                where = (rules.c.repo_id == repo_id, rules.c.name == current)
                if changes and not conn.execute(update(rules).where(*where).values(**changes)).rowcount:
                    return None
                return _NAMED.one(conn, repo_id=repo_id, name=new_name)
        except IntegrityError as exc:
            raise NameTaken(new_name) from exc

    def named(self, repo_id: int, name: str) -> Rule | None:
        with self.db.read() as conn:
            return _NAMED.one(conn, repo_id=repo_id, name=name)

    def of_repo(self, repo_id: int) -> list[Rule]:
        with self.db.read() as conn:
            return _OF_REPO.all(conn, repo_id=repo_id)

    def delete(self, repo_id: int, name: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute(delete(rules).where(rules.c.repo_id == repo_id, rules.c.name == name)).rowcount)
