"""The store on SQLite and on PostgreSQL: migrations, coalescing, leases, schedule, deliveries."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.domain.records import Job, JobEnd, Repo
from service.domain.types import fetch_coalesce_key, utcnow
from service.store import NameTaken, Store
from service.store.tables import jobs, metadata
from tests.store.conftest import claim, finish, new_repo
from tests.support.services import postgres_database


def test_migrations_create_exactly_the_tables(store: Store) -> None:
    with store.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    store.upgrade()  # applying again changes nothing


def test_repo_names_are_unique_and_origin_is_recorded(store: Store) -> None:
    repo = new_repo(store)
    assert [r.name for r in store.repos.remotes(repo.id)] == ["origin"]
    with pytest.raises(NameTaken):
        new_repo(store)
    with pytest.raises(NameTaken):
        store.repos.add_remote(repo.id, "origin", "https://example.com/x.git")


def test_queued_fetches_coalesce_until_claimed(store: Store) -> None:
    repo = new_repo(store)
    first, new = store.jobs.add(repo, "fetch", "api", {"remote": None}, coalesce_key="fetch:1:*")
    again, joined = store.jobs.add(repo, "fetch", "webhook", {"remote": None}, coalesce_key="fetch:1:*")
    assert new and not joined and again.id == first.id
    assert claim(store, first.id).state == "running"
    # once running, a new request needs a new fetch: the running one may have missed its commits
    later, new = store.jobs.add(repo, "fetch", "api", {"remote": None}, coalesce_key="fetch:1:*")
    assert new and later.id != first.id


def test_a_fetch_of_a_repo_named_is_recorded_with_it_and_joins_the_same_queued_fetches(store: Store) -> None:
    """JobStore.add_fetch_of reads the repo and adds its job in one go: the job is keyed as every
    other fetch of every remote (webhooks, the schedule), so they join each other."""
    repo = new_repo(store)
    new_repo(store, "acme/other")
    key = fetch_coalesce_key(repo.id, None)

    def fetch_of(name: str, prune: bool = True) -> tuple[Repo, Job, bool]:
        recorded = store.jobs.add_fetch_of(name, "api", {"remote": None, "prune": prune}, coalesce=prune)
        assert recorded is not None
        return recorded

    found, job, new = fetch_of("acme/widgets")
    assert new and found == store.repos.by_name("acme/widgets")
    assert (job.repo_id, job.repo, job.kind, job.state, job.trigger, job.coalesce_key) == \
        (repo.id, "acme/widgets", "fetch", "queued", "api", key)
    assert job.params == {"remote": None, "prune": True}
    hook, joined = store.jobs.add(repo, "fetch", "webhook", {"remote": None}, coalesce_key=key)
    assert not joined and hook.id == job.id
    _, again, new = fetch_of("acme/widgets")
    assert not new and again.id == job.id
    _, unkeyed, new = fetch_of("acme/widgets", prune=False)
    assert new and unkeyed.id != job.id and unkeyed.coalesce_key is None
    assert store.jobs.add_fetch_of("acme/nothing", "api", {"remote": None, "prune": True}, coalesce=True) is None
    assert [j.repo for j in store.jobs.latest(limit=10)] == ["acme/widgets", "acme/widgets"]


def test_claim_is_exclusive_until_the_lease_expires(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    first = claim(store, job.id)
    assert first is not None
    assert claim(store, job.id) is None
    assert claim(store, job.id, lease=-1) is None  # still held
    assert store.jobs.renew(job.id, first.owner, lease=-5)  # the worker died: its lease ran out
    assert (job.id, repo.id) in store.jobs.needing_send(utcnow(), lease=10)
    again = claim(store, job.id)
    assert again is not None and again.attempts == 2 and again.owner != first.owner
    finish(store, again, {"ok": True})
    assert claim(store, job.id) is None
    assert store.jobs.get(job.id).result == {"ok": True}


def test_unsent_jobs_are_found_for_resending(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    assert store.jobs.needing_send(utcnow(), lease=10) == []  # most likely waiting for a worker
    later = utcnow() + timedelta(seconds=11)
    assert store.jobs.needing_send(later, lease=10) == [(job.id, repo.id)]
    store.jobs.mark_resent([job.id], later, lease=10)
    assert store.jobs.needing_send(later + timedelta(seconds=15), lease=10) == []  # two leases on
    assert store.jobs.needing_send(later + timedelta(seconds=21), lease=10) == [(job.id, repo.id)]
    claimed = claim(store, job.id)  # a worker took it after all
    assert (claimed.resends, claimed.resend_at) == (1, None)
    store.jobs.mark_resent([job.id], utcnow(), lease=10)  # a re-send that crossed the claim
    assert store.jobs.get(job.id).resend_at is None  # due again as soon as its lease runs out
    unsent, _ = store.jobs.add(repo, "pull", "api", {})
    store.jobs.send_failed(unsent.id)  # its first send: due at the sweeper's next look
    assert store.jobs.needing_send(utcnow(), lease=10) == [(unsent.id, repo.id)]


def test_deleting_a_repo_fails_its_queued_jobs(store: Store) -> None:
    repo = new_repo(store)
    queued, _ = store.jobs.add(repo, "fetch", "api", {})
    running, _ = store.jobs.add(repo, "pull", "api", {})
    claim(store, running.id)
    assert store.jobs.fail_queued(repo.id, "repo_deleted", "the repo was deleted") == [queued.id]
    store.repos.delete(repo.id)
    assert store.jobs.get(queued.id).error_code == "repo_deleted"
    assert store.jobs.get(running.id).state == "running"
    assert store.repos.by_name("acme/widgets") is None


def test_auto_fetch_schedule_spreads_and_advances(store: Store) -> None:
    repo = new_repo(store)
    store.repos.update(repo.id, state="ready")
    now = utcnow()
    assert store.repos.due_for_fetch(now, default_interval=60) == []  # first sight: gets a slot
    slot = store.repos.get(repo.id).next_fetch_at
    assert now <= slot <= now + timedelta(seconds=60)
    due = store.repos.due_for_fetch(slot, default_interval=60)
    assert [(r.id, interval) for r, interval in due] == [(repo.id, 60)]
    assert store.repos.advance_schedule(due[0][0], 60, slot)
    assert not store.repos.advance_schedule(due[0][0], 60, slot)  # a second scheduler loses
    assert store.repos.get(repo.id).next_fetch_at == slot + timedelta(seconds=60)
    store.repos.update(repo.id, fetch_interval=0)
    assert store.repos.due_for_fetch(slot + timedelta(days=1), default_interval=60) == []


def test_tokens_are_stored_hashed(store: Store) -> None:
    token = store.tokens.create("bot", "write")
    assert store.tokens.scope_of(token) == "write"
    assert store.tokens.scope_of(token + "x") is None
    with store.db.read() as conn:
        assert token not in str(conn.exec_driver_sql("SELECT * FROM tokens").fetchall())
    assert store.tokens.delete("bot") and store.tokens.scope_of(token) is None


def test_claim_returns_the_running_job_once(store: Store) -> None:
    job, _ = store.jobs.add(new_repo(store), "fetch", "api", {"remote": None})
    claimed = claim(store, job.id, lease=60)
    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.attempts, claimed.params) == (
        job.id, "running", 1, {"remote": None})
    assert claimed.started_at is not None
    assert claim(store, job.id, lease=60) is None


def test_a_delivery_queues_joins_and_debounces_fetches_of_the_remotes_it_names(store: Store) -> None:
    repo = new_repo(store)
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    first = store.deliveries.record("github", "d-1", "push", {key, "other"}, None, debounce=0.5)
    (job_id,) = first.job_ids
    assert first.to_send == [(job_id, repo.id, None)]  # nothing ran lately: sent at once
    job = store.jobs.get(job_id)
    assert (job.kind, job.trigger, job.params) == ("fetch", "webhook", {"remote": "origin", "prune": True})
    assert abs(job.created_at - utcnow()) < timedelta(seconds=5)

    joined = store.deliveries.record("github", "d-2", "push", {key}, None, debounce=0.5)
    assert (joined.job_ids, joined.to_send) == ([job_id], [])
    again = store.deliveries.record("github", "d-1", "push", {key}, None, debounce=0.5)
    assert (again.job_ids, again.seen_before, again.to_send) == ([job_id], True, [])
    assert [j.id for j in store.jobs.latest()] == [job_id]  # the redelivery made nothing

    claim(store, job_id)  # running: the next fetch waits out the debounce
    late = store.deliveries.record("github", "d-1", "push", {key}, None, debounce=0.5)
    assert (late.job_ids, late.seen_before, late.to_send) == ([job_id], True, [])  # a redelivery still makes none
    assert [j.id for j in store.jobs.latest()] == [job_id]
    running = store.deliveries.record("github", "d-3", "push", {key}, None, debounce=0.5)
    (second,) = running.job_ids
    assert running.to_send == [(second, repo.id, 0.5)]
    finish(store, claim(store, second), {})  # just ended: still within the window
    assert store.deliveries.record("github", "d-4", "push", {key}, None, debounce=0.5).to_send[0][2] == 0.5
    with store.db.write() as conn:  # long ago: a push after a quiet spell goes at once
        conn.execute(jobs.update().values(finished_at=utcnow() - timedelta(seconds=5), state="done"))
    assert store.deliveries.record("github", "d-5", "push", {key}, None, debounce=0.5).to_send[0][2] is None

    unmatched = store.deliveries.record("github", "d-6", "push", {"nobody"}, None)
    assert (unmatched.job_ids, unmatched.ignored) == ([], "the repository is not a remote of any managed repo")


def test_concurrent_requests_for_the_same_work_share_one_job(store: Store) -> None:
    repo = new_repo(store)
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: store.jobs.add(repo, "fetch", "api", {}, coalesce_key="fetch:1:*"),
                             range(24)))
    assert len({job.id for job, _ in made}) == 1
    assert sum(new for _, new in made) == 1


def test_deliveries_arriving_together_are_all_recorded_once(store: Store) -> None:
    repo = new_repo(store)
    (key,) = {r.match_key for r in store.repos.remotes(repo.id)}
    ids = [f"d-{i % 40}" for i in range(80)]  # each delivery twice
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda d: store.deliveries.record("github", d, "push", {key}, None), ids))
    assert {tuple(a.job_ids) for a in answers} == {(answers[0].job_ids[0],)}  # all joined one fetch
    assert sum(not a.seen_before for a in answers) == 40
    assert len(store.jobs.latest()) == 1


def test_a_fetch_queued_by_another_request_mid_delivery_is_joined_and_ours_is_still_sent() -> None:
    """Two repos fetch the same URL. While a delivery is recorded, another request holds a new
    queued fetch for the second repo, uncommitted; it commits, so the delivery's own insert of
    that fetch finds it taken. The delivery is recorded once, joined to that fetch, and the fetch
    it did add for the first repo is still handed back to be sent."""
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        try:
            first = new_repo(store, "acme/first")
            second = new_repo(store, "acme/second")
            (key,) = {r.match_key for r in store.repos.remotes(first.id)}
            other = store.db.engine.connect()
            holding = other.begin()
            theirs = store.jobs.join_or_add(other, second.id, second.name, "fetch", "api", {"remote": "origin"},
                                            fetch_coalesce_key(second.id, "origin"))[0]
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(store.deliveries.record, "github", "d-1", "push", {key}, None)
                time.sleep(0.5)  # the delivery's insert now waits on the uncommitted fetch
                assert not pending.done()
                holding.commit()
                intake = pending.result(timeout=10)
            other.close()
            queued = {j.repo: j.id for j in store.jobs.latest(state="queued")}
            assert intake.job_ids == [queued["acme/first"], theirs] and queued["acme/second"] == theirs
            assert intake.to_send == [(queued["acme/first"], first.id, None)]
            again = store.deliveries.record("github", "d-1", "push", {key}, None)
            assert (again.seen_before, again.job_ids) == (True, intake.job_ids)
            assert len(store.jobs.latest()) == 2
        finally:
            store.close()


def test_starting_a_job_claims_it_once_and_reads_its_repo_remotes_and_rules(store: Store) -> None:
    repo = new_repo(store)
    store.repos.add_remote(repo.id, "fork", "https://example.com/fork/widgets.git")
    store.rules.create(repo.id, name="follow", remote="origin", branch="main", local_branch="main",
                       strategy="rebase", push_to=None, allow_force=False)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    started = store.jobs.start(job.id, lease=30)
    assert started is not None
    claimed, found = started.job, started.repo
    assert (claimed.id, claimed.state, claimed.attempts) == (job.id, "running", 1)
    assert claimed.started_at.tzinfo is not None and found is not None
    assert (found.name, found.created_at, found.protected_branches) == (repo.name, repo.created_at, [])
    assert [r.name for r in started.remotes] == ["fork", "origin"]
    assert [(r.name, r.allow_force, r.strategy) for r in started.rules] == [("follow", False, "rebase")]
    assert store.jobs.start(job.id, lease=30) is None  # taken

    orphan, _ = store.jobs.add(repo, "fetch", "api", {})
    store.repos.delete(repo.id)
    gone = store.jobs.start(orphan.id, lease=30)
    assert gone is not None and (gone.job, gone.repo, gone.remotes) == (store.jobs.get(orphan.id), None, ())


def test_a_job_handed_over_as_json_reads_back_as_stored(store: Store) -> None:
    repo = new_repo(store)
    job, _ = store.jobs.add(repo, "fetch", "api", {"remote": "origin"})
    ended = finish(store, claim(store, job.id), {"origin": {"updated": ["refs/heads/main"]}}, progress={"percent": 100})
    assert ended == store.jobs.get(job.id)
    assert Job.from_wire(ended.to_wire().encode()) == ended
    assert Job.from_wire(b"not json") is None and Job.from_wire(b"[1]") is None and Job.from_wire(b"{}") is None


def test_a_job_taken_over_has_its_outcome_written_once_by_its_new_owner(store: Store) -> None:
    """A worker whose lease ran out (a pause, a lost renewal) and whose job another worker then
    claimed can no longer renew it or end it: its end writes nothing, in the same one round trip."""
    repo = new_repo(store)
    store.repos.update(repo.id, notify_url="https://example.com/hook")
    repo = store.repos.get(repo.id)
    job, _ = store.jobs.add(repo, "fetch", "api", {})
    old = claim(store, job.id, lease=-1)  # its lease runs out at once
    new = claim(store, job.id)
    assert old is not None and new is not None and old.owner != new.owner

    assert not store.jobs.renew(job.id, old.owner, lease=30)
    late = JobEnd(old, repo, {"by": "old"}, refs={"branches": [{"name": "old"}]}, fetched_at=utcnow())
    assert store.jobs.end(late) is None
    running = store.jobs.get(job.id)
    assert (running.state, running.owner, running.result, running.lease_until is not None) == \
        ("running", new.owner, None, True)
    after = store.repos.get(repo.id)
    assert (after.state, after.last_fetch_at) == ("cloning", None)
    assert store.repos.refs(repo.id)["branches"] == [] and store.notifications.for_job(job.id) == []

    assert store.jobs.renew(job.id, new.owner, lease=30)
    ended = store.jobs.end(JobEnd(new, repo, {"by": "new"}, refs={"branches": [{"name": "new"}]},
                                  fetched_at=utcnow()))
    assert ended is not None and ended.job.result == {"by": "new"}
    assert store.jobs.end(late) is None and store.jobs.end(JobEnd(new, repo, {"by": "again"})) is None
    assert store.jobs.get(job.id).result == {"by": "new"}
    assert store.repos.refs(repo.id)["branches"] == [{"name": "new"}]
    assert [n.id for n in store.notifications.for_job(job.id)] == [ended.notification]
    assert store.repos.get(repo.id).state == "ready"
