"""Backups as recorded on SQLite and on PostgreSQL: listed newest first, marked deleted, past
retention, and kept in step with the refs a worker finds in the clone."""

from __future__ import annotations

from datetime import timedelta

from service.domain.records import BackupKept
from service.domain.types import utcnow
from service.store import Store
from tests.store.conftest import new_repo


def kept(ref: str, days_old: float = 0, job_id: int | None = None) -> BackupKept:
    return BackupKept("origin", "main", f"refs/gitferry/backups/origin/main/{ref}", "a" * 40,
                      utcnow() - timedelta(days=days_old), replaced_by="b" * 40, job_id=job_id)


def test_backups_are_listed_newest_first_and_deleted_ones_are_not(store: Store) -> None:
    repo = new_repo(store)
    since = utcnow() - timedelta(days=30)
    store.backups.add(repo.id, [kept("old", days_old=2, job_id=7), kept("new", job_id=8)])
    store.backups.add(repo.id, [kept("new", job_id=9)])  # recorded already: left as it is
    listed = store.backups.of_repo(repo.id, since)
    assert [(b.ref.rsplit("/", 1)[1], b.job_id, b.replaced_by) for b in listed] == [
        ("new", 8, "b" * 40), ("old", 7, "b" * 40)]
    assert store.backups.get(repo.id, listed[1].id, since) == listed[1]
    assert store.backups.delete(repo.id, listed[1].id)
    assert not store.backups.delete(repo.id, listed[1].id)  # once
    assert [b.id for b in store.backups.of_repo(repo.id, since)] == [listed[0].id]
    assert store.backups.get(repo.id, listed[1].id, since) is None
    assert store.backups.of_repo(repo.id, utcnow() + timedelta(seconds=1)) == []  # all past retention


def test_in_step_records_new_refs_drops_gone_ones_and_names_those_to_delete(store: Store) -> None:
    repo = new_repo(store)
    since = utcnow() - timedelta(days=30)
    store.backups.add(repo.id, [kept("deleted"), kept("gone"), kept("stays", job_id=3)])
    deleted = next(b for b in store.backups.of_repo(repo.id, since) if b.ref.endswith("deleted"))
    store.backups.delete(repo.id, deleted.id)
    in_clone = [kept("deleted"), kept("stays"), kept("made-before"), kept("ancient", days_old=40)]
    doomed = store.backups.in_step(repo.id, in_clone, since)
    assert [r.rsplit("/", 1)[1] for r in doomed] == ["ancient", "deleted"]
    store.backups.forget(repo.id, doomed)
    listed = {b.ref.rsplit("/", 1)[1]: b for b in store.backups.of_repo(repo.id, since)}
    assert sorted(listed) == ["made-before", "stays"]
    assert (listed["stays"].job_id, listed["made-before"].job_id) == (3, None)
    assert store.backups.in_step(repo.id, [kept("stays"), kept("made-before")], since) == []
