"""The two ways a webhook delivery is recorded agree: statement by statement (SQLite, and a
delivery a batch could not settle) and a whole batch in one PostgreSQL statement.

Random scenarios (repos whose remotes share URLs, fetches queued, running or ended before,
batches of deliveries with redeliveries, events not acted on and unknown repositories) are
recorded both ways on two databases set up alike; every answer and everything recorded must be
the same.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from service.domain.types import fetch_coalesce_key, utcnow
from service.store import Intake, Store
from service.store.deliveries import _Delivery
from service.store.group_commit import Slot
from tests.support.services import postgres_database

SCENARIOS = 120
URLS = [f"https://example.com/acme/repo-{i}.git" for i in range(4)]
DEBOUNCE = 0.5


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[Store, Store]]:
    with postgres_database() as one, postgres_database() as other:
        pair = Store(one), Store(other)
        for store in pair:
            store.upgrade()
        yield pair
        for store in pair:
            store.close()


def set_up(store: Store, plan: random.Random, since: datetime) -> None:
    """Three repos whose remotes point at a few shared URLs, and the fetches each key had before:
    ended after or long before the deliveries' `since` (a time fixed for both stores alike)."""
    with store.db.write() as conn:
        # (DELETE, not TRUNCATE: a TRUNCATE makes new files for each table, which cost more than the scenario)
        for table in ("deliveries", "repo_refs", "jobs", "remotes", "repos"):
            conn.execute(text(f"DELETE FROM {table}"))
        for sequence in conn.execute(text("SELECT sequencename FROM pg_sequences")).scalars():
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
    for n in range(3):
        repo = store.repos.create(f"acme/r{n}", URLS[plan.randrange(len(URLS))], pull_strategy=None,
                                  fetch_interval=None, protected_branches=[])
        for remote in ("fork", "upstream")[:plan.randrange(3)]:
            store.repos.add_remote(repo.id, remote, URLS[plan.randrange(len(URLS))])
        for remote in store.repos.remotes(repo.id):
            before = plan.choice(["none", "queued", "running", "just ended", "ended long ago"])
            if before == "none":
                continue
            job, _ = store.jobs.add(repo, "fetch", "webhook", {"remote": remote.name, "prune": True},
                                    fetch_coalesce_key(repo.id, remote.name))
            if before == "queued":
                continue
            store.jobs.start(job.id, lease=60)
            if before != "running":
                ended = since + timedelta(seconds=0.1 if before == "just ended" else -60)
                with store.db.write() as conn:
                    conn.execute(text("UPDATE jobs SET state = 'done', finished_at = :at WHERE id = :id"),
                                 {"at": ended.replace(tzinfo=None), "id": job.id})


def deliveries(plan: random.Random, count: int, since: datetime) -> list[_Delivery]:
    found = []
    for _ in range(count):
        keys = sorted({plan.choice([*URLS, "https://example.com/nobody/here.git"]).removeprefix("https://")
                       .removesuffix(".git") for _ in range(plan.randrange(1, 3))})
        ignored = "ping events are not acted on" if plan.random() < 0.1 else None
        found.append(_Delivery(plan.choice(["github", "gitlab"]), f"d-{plan.randrange(8)}", "push",
                               [] if ignored else keys, ignored, since, DEBOUNCE))
    return found


def one_by_one(store: Store, batch: list[_Delivery]) -> list[Intake]:
    return [store.deliveries._alone(d) for d in batch]


def in_one_statement(store: Store, batch: list[_Delivery]) -> list[Intake]:
    slots = [Slot(d) for d in batch]  # as a Batcher hands them over
    store.deliveries._record_together(slots)  # type: ignore[arg-type]
    return [store.deliveries._settle(slot.item, slot.value) for slot in slots]  # type: ignore[arg-type]


def seen(store: Store, intakes: list[Intake]) -> object:
    """Answers and what is recorded, with each job named by its repo and key (ids may differ)."""
    with store.db.read() as conn:
        jobs = {row.id: (row.repo, row.coalesce_key, row.state, row.params["remote"])
                for row in conn.execute(text("SELECT * FROM jobs"))}
        recorded = sorted((row.forge, row.delivery_id, tuple(jobs[j] for j in row.job_ids), row.ignored)
                          for row in conn.execute(text("SELECT * FROM deliveries")))
    answers = [([jobs[j] for j in i.job_ids], i.ignored, i.seen_before,
                sorted((jobs[j], repo, wait) for j, repo, wait in i.to_send)) for i in intakes]
    return answers, recorded, sorted(jobs.values())


def test_a_batch_in_one_statement_records_what_one_by_one_records(stores: tuple[Store, Store]) -> None:
    alone, together = stores
    differing = []
    for scenario in range(SCENARIOS):
        since = utcnow() - timedelta(seconds=DEBOUNCE)
        for store in stores:
            set_up(store, random.Random(scenario), since)
        plan = random.Random(10_000 + scenario)
        for _ in range(plan.randrange(1, 4)):
            batch = deliveries(plan, plan.randrange(1, 7), since)
            expected = seen(alone, one_by_one(alone, batch))
            got = seen(together, in_one_statement(together, batch))
            if got != expected:
                differing.append((scenario, batch, expected, got))
    assert not differing, differing[0]
