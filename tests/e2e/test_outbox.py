"""Nothing is lost: with the broker down a request is still recorded, and the sweeper sends it later;
and while no worker takes jobs, the sweeper does not fill the broker with copies of them."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import redis

from service.domain.types import utcnow
from service.jobs import JobQueue, make_celery, open_store
from service.jobs.scheduler import resend_lost
from service.settings import load_settings
from service.web import create_app
from tests.support.live import ADMIN
from tests.support.services import postgres_database, redis_database


def test_job_recorded_while_broker_is_down_is_sent_by_the_sweeper(tmp_path: Path) -> None:
    env = {"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_ADMIN_TOKEN": ADMIN,
           "GITFERRY_ALLOW_LOCAL_REMOTES": "1", "GITFERRY_BROKER_URL": "redis://127.0.0.1:1/0"}
    app = create_app(load_settings(env))
    started = time.monotonic()
    response = app.test_client().post("/api/v1/repos", json={"name": "acme/w", "url": "file:///srv/w.git"},
                                      headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 201
    assert time.monotonic() - started < 5  # the answer does not hang on the broker
    store = app.extensions["gitferry"].store
    job = store.jobs.get(response.json["job"]["id"])
    assert (job.state, job.sent_at) == ("queued", None)

    with redis_database(13) as url:
        settings = load_settings({**env, "GITFERRY_BROKER_URL": url})
        # its failed send was recorded: it goes at the sweeper's next look, not a lease later
        assert resend_lost(JobQueue(make_celery(settings), store, settings)) == [job.id]
        messages = redis.Redis.from_url(url).lrange("gitferry", 0, -1)
        assert [json.loads(m)["headers"]["argsrepr"] for m in messages] == [f"[{job.id}]"]
        assert store.jobs.get(job.id).sent_at is not None


def test_during_a_worker_outage_each_queued_job_is_sent_again_once_a_lease_then_less_often(tmp_path: Path) -> None:
    """No worker takes anything for an hour; the sweeper looks every 5 s. Each queued job's
    message is still waiting in the broker: sending it again at each look put 5 copies of every
    job there within a minute, and 241 within the hour."""
    with redis_database(13) as url, postgres_database() as database:
        settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_BROKER_URL": url,
                                  "GITFERRY_DATABASE_URL": database, "GITFERRY_JOB_LEASE": "60"})
        store = open_store(settings)
        store.upgrade()
        try:
            queue = JobQueue(make_celery(settings), store, settings)
            repos = [store.repos.create(f"acme/r{n}", "https://example.com/r.git", pull_strategy=None,
                                        fetch_interval=None, protected_branches=[]) for n in range(20)]
            sends = {queue.add(repo, "fetch", {"remote": None}).id: [0] for repo in repos}
            start = utcnow()
            for second in range(0, 3601, 5):
                for job_id in resend_lost(queue, now=start + timedelta(seconds=second)):
                    sends[job_id].append(second)
            in_broker = Counter(json.loads(m)["headers"]["argsrepr"]
                                for m in redis.Redis.from_url(url).lrange("gitferry", 0, -1))
        finally:
            store.close()
    assert in_broker == {f"[{job_id}]": len(times) for job_id, times in sends.items()}
    # a lease after it was queued, then 2, 4 and 8 leases apart: 10 messages an hour, not 241
    assert set(map(tuple, sends.values())) == {(0, 60, 180, 420, 900, 1380, 1860, 2340, 2820, 3300)}
