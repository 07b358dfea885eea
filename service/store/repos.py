"""Managed repos, their remotes and the last ref snapshot of each clone."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.matching import url_key
from service.domain.records import Remote, RemoteFetch, Repo
from service.domain.types import RepoState, utcnow
from service.store.db import Database
from service.store.secrets import Sealer
from service.store.sql import Ending, Guarded, Sql, records
from service.store.tables import remotes, repo_refs, repos

# What every API call on a repo and every job reads (service.store.sql says why hand-written).
_BY_ID = Sql("SELECT * FROM repos WHERE id = :id", Repo)
_BY_NAME = Sql("SELECT * FROM repos WHERE name = :name", Repo)
_REMOTES = Sql("SELECT * FROM remotes WHERE repo_id = :repo_id ORDER BY name", Remote)
# What a job's end writes (Guarded: only if the job was still its worker's).
_FETCHED = Guarded("UPDATE repos SET last_fetch_at = :at WHERE id = :id AND {when}")
_READY = Guarded("UPDATE repos SET state = 'ready', error = NULL WHERE id = :id AND {when}")
# A repo deleted meanwhile gets no refs (and no foreign-key error).
_SAVE_REFS = Guarded("""
    INSERT INTO repo_refs (repo_id, snapshot, updated_at, pending) SELECT :repo_id, :snapshot, :now, false
    WHERE EXISTS (SELECT 1 FROM repos WHERE id = :repo_id) AND {when}
    ON CONFLICT (repo_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at,
        pending = false""")
_REFS_PENDING = Guarded("UPDATE repo_refs SET pending = true WHERE repo_id = :repo_id AND {when}")
# How a job's fetch of a remote went (a success clears the last error and the failures in a row).
_REMOTE_FETCHED = Guarded("""
    UPDATE remotes SET last_attempt_at = :at, last_success_at = :at, last_error_code = NULL,
        last_error_message = NULL, fetch_failures = 0
    WHERE repo_id = :repo_id AND name = :name AND {when}""")
_REMOTE_FAILED = Guarded("""
    UPDATE remotes SET last_attempt_at = :at, last_error_code = :code, last_error_message = :message,
        fetch_failures = fetch_failures + 1
    WHERE repo_id = :repo_id AND name = :name AND {when}""")


class NameTaken(Exception):
    """A repo, remote, rule, token or forge of that name exists already."""


class RepoStore:
    def __init__(self, db: Database, sealer: Sealer):
        self.db = db
        self.sealer = sealer  # a repo's notify_secret is kept sealed

    def create(self, name: str, url: str, *, pull_strategy: str | None, fetch_interval: int | None,
               protected_branches: list[str]) -> Repo:
        """Record a new repo in state `cloning` with `url` as remote origin."""
        try:
            with self.db.write() as conn:
                repo_id = conn.execute(insert(repos).values(
                    name=name, url=url, pull_strategy=pull_strategy, fetch_interval=fetch_interval,
                    protected_branches=protected_branches, state=RepoState.CLONING.value, created_at=utcnow(),
                )).inserted_primary_key[0]  # type: ignore[index]
                conn.execute(insert(remotes).values(repo_id=repo_id, name="origin", url=url, match_key=url_key(url)))
                created = _BY_ID.one(conn, id=repo_id)
        except IntegrityError as exc:
            raise NameTaken(name) from exc
        assert created is not None
        return created

    def get(self, repo_id: int) -> Repo | None:
        with self.db.read() as conn:
            return _BY_ID.one(conn, id=repo_id)

    def by_name(self, name: str) -> Repo | None:
        with self.db.read() as conn:
            return _BY_NAME.one(conn, name=name)

    def named_later(self, conn: Connection, name: str) -> Callable[[], list[Repo]]:
        """Inside a transaction: the repo named `name`, read along with what is sent after it."""
        return _BY_NAME.later(conn, name=name)

    def all(self) -> list[Repo]:
        with self.db.read() as conn:
            return records(Repo, conn.execute(select(repos).order_by(repos.c.name)))

    def fetched(self, repo_id: int, at: datetime, *, ending: Ending | None = None) -> None:
        """Record when the repo's remotes were last fetched (`ending`: see Guarded)."""
        with self.db.write() as conn:
            _FETCHED.run(conn, ending, id=repo_id, at=at)

    def ready(self, repo_id: int, *, ending: Ending | None = None) -> None:
        """The repo's clone is there, its branches recorded: it can be used."""
        with self.db.write() as conn:
            _READY.run(conn, ending, id=repo_id)

    def update(self, repo_id: int, **fields: Any) -> None:
        """Change a repo's settings; a notify_secret is sealed (SecretKeyMissing without the key)."""
        if fields.get("notify_secret"):
            fields["notify_secret"] = self.sealer.seal(fields["notify_secret"])
        with self.db.write() as conn:
            conn.execute(update(repos).where(repos.c.id == repo_id).values(**fields))

    def delete(self, repo_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(delete(repo_refs).where(repo_refs.c.repo_id == repo_id))
            conn.execute(delete(remotes).where(remotes.c.repo_id == repo_id))
            conn.execute(delete(repos).where(repos.c.id == repo_id))

    def notify_secret(self, repo: Repo) -> str:
        """The secret that signs the repo's notifications ("" if none)."""
        return self.sealer.open(repo.notify_secret)

    def counts(self) -> list[tuple[str, int]]:
        """(state, how many) of all repos."""
        with self.db.read() as conn:
            return [(state, count) for state, count in
                    conn.execute(select(repos.c.state, func.count()).group_by(repos.c.state))]

    # remotes

    def remotes(self, repo_id: int) -> list[Remote]:
        with self.db.read() as conn:
            return _REMOTES.all(conn, repo_id=repo_id)

    def remotes_of(self, repo_ids: list[int]) -> dict[int, list[Remote]]:
        """Remotes of many repos in one query, for listings."""
        found: dict[int, list[Remote]] = {i: [] for i in repo_ids}
        if not repo_ids:
            return found
        with self.db.read() as conn:
            query = select(remotes).where(remotes.c.repo_id.in_(repo_ids)).order_by(remotes.c.name)
            for remote in records(Remote, conn.execute(query)):
                found[remote.repo_id].append(remote)
        return found

    def remote(self, repo_id: int, name: str) -> Remote | None:
        with self.db.read() as conn:
            query = select(remotes).where(remotes.c.repo_id == repo_id, remotes.c.name == name)
            return next(iter(records(Remote, conn.execute(query))), None)

    def add_remote(self, repo_id: int, name: str, url: str) -> Remote:
        try:
            with self.db.write() as conn:
                conn.execute(insert(remotes).values(repo_id=repo_id, name=name, url=url, match_key=url_key(url)))
        except IntegrityError as exc:
            raise NameTaken(name) from exc
        added = self.remote(repo_id, name)
        assert added is not None
        return added

    def remotes_fetched(self, repo_id: int, fetches: tuple[RemoteFetch, ...], *,
                        ending: Ending | None = None) -> None:
        """Record how fetching each remote went (`ending`: see Guarded)."""
        with self.db.write() as conn:
            for f in fetches:
                if f.error_code is None:
                    _REMOTE_FETCHED.run(conn, ending, repo_id=repo_id, name=f.remote, at=f.at)
                else:
                    _REMOTE_FAILED.run(conn, ending, repo_id=repo_id, name=f.remote, at=f.at, code=f.error_code,
                                       message=f.error_message)

    def remove_remote(self, repo_id: int, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(remotes).where(remotes.c.repo_id == repo_id, remotes.c.name == name))

    # what the clone looked like after the last job

    def save_refs(self, repo_id: int, snapshot: dict[str, Any], *, ending: Ending | None = None) -> None:
        with self.db.write() as conn:
            _SAVE_REFS.run(conn, ending, repo_id=repo_id, snapshot=snapshot, now=utcnow())

    def refs_pending(self, repo_id: int, *, ending: Ending | None = None) -> None:
        """Mark the recorded refs (if any) out of date until the next save_refs()."""
        with self.db.write() as conn:
            _REFS_PENDING.run(conn, ending, repo_id=repo_id)

    def refs(self, repo_id: int) -> dict[str, Any]:
        """The refs as last recorded; "pending" while a job is recording newer ones."""
        with self.db.read() as conn:
            row = conn.execute(
                select(repo_refs.c.snapshot, repo_refs.c.pending).where(repo_refs.c.repo_id == repo_id)
            ).first()
        if row is None:
            return {"branches": [], "remote_branches": [], "tags": []}
        snapshot: dict[str, Any] = row[0]
        return {**snapshot, "pending": True} if row[1] else snapshot

    def all_refs(self) -> dict[int, dict[str, Any]]:
        """Every repo's refs as last recorded, in one query, for the overview."""
        with self.db.read() as conn:
            return {repo_id: snapshot for repo_id, snapshot in
                    conn.execute(select(repo_refs.c.repo_id, repo_refs.c.snapshot))}

    # auto-fetch schedule

    def due_for_fetch(self, now: datetime, default_interval: int) -> list[tuple[Repo, int]]:
        """Ready repos whose next auto-fetch is due, with their effective interval."""
        with self.db.read() as conn:
            ready = records(Repo, conn.execute(select(repos).where(repos.c.state == RepoState.READY.value)))
        due = []
        for repo in ready:
            interval = repo.fetch_interval if repo.fetch_interval is not None else default_interval
            if interval <= 0:
                continue
            if repo.next_fetch_at is None:
                # Spread repos over the interval instead of fetching all of them at once.
                offset = zlib.crc32(repo.name.encode()) % (interval * 1000) / 1000
                self._move_schedule(repo.id, None, now + timedelta(seconds=offset))
            elif repo.next_fetch_at <= now:
                due.append((repo, interval))
        return due

    def advance_schedule(self, repo: Repo, interval: int, now: datetime) -> bool:
        """Move a due repo's next fetch on by one interval; False if another scheduler did."""
        current = repo.next_fetch_at
        assert current is not None
        nxt = current + timedelta(seconds=interval)
        if nxt <= now:
            nxt = now + timedelta(seconds=interval)
        return self._move_schedule(repo.id, current, nxt)

    def _move_schedule(self, repo_id: int, current: datetime | None, nxt: datetime) -> bool:
        cond = repos.c.next_fetch_at.is_(None) if current is None else repos.c.next_fetch_at == current
        with self.db.write() as conn:
            moved = conn.execute(update(repos).where(repos.c.id == repo_id, cond).values(next_fetch_at=nxt))
            return bool(moved.rowcount)
