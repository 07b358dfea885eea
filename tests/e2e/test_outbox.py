"""Nothing is lost: with the broker down a request is still recorded, and the sweeper sends it later;
and while no worker takes jobs, the sweeper does not fill the broker with copies of them; and a
Redis that stops and starts again mid-deliveries loses none of them."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import redis
import requests

from service.domain.types import utcnow
from service.jobs import JobQueue, make_celery, open_store
from service.jobs.scheduler import resend_lost
from service.settings import load_settings
from service.web import create_app
from tests.conftest import Forge
from tests.hooks import signing
from tests.support.live import ADMIN, HOOK_SECRET, Processes, free_port
from tests.support.proxy import FaultProxy
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

    with redis_database() as url:
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
    with redis_database() as url, postgres_database() as database:
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


def test_deliveries_while_redis_is_down_are_all_fetched_once_it_is_back(tmp_path: Path, forge: Forge) -> None:
    """Redis stops (here: the proxy in front of it goes away) while a forge delivers pushes: each
    delivery is still answered 202 and recorded, and once Redis is back every one of their jobs
    runs and the last commit reaches the clone."""
    port = free_port()
    redis_up = FaultProxy(("127.0.0.1", 6379), port=port)
    with redis_database() as broker, postgres_database() as database:
        procs = Processes(tmp_path / "data", {
            "GITFERRY_BROKER_URL": f"redis://127.0.0.1:{port}/{broker.rsplit('/', 1)[1]}",
            "GITFERRY_DATABASE_URL": database,
            "GITFERRY_FETCH_INTERVAL": "0", "GITFERRY_JOB_LEASE": "3", "GITFERRY_WEBHOOK_SECRET": HOOK_SECRET})
        procs.data_dir.mkdir()
        try:
            procs.web()
            procs.start("worker", "worker")
            procs.start("beat", "beat")
            api = procs.api
            api.ok("POST", "/api/v1/repos", {"name": "acme/widgets", "url": forge.url}, status=201)
            api.wait_repo("acme/widgets")

            redis_up.close()  # Redis is gone: connections dropped, new ones refused
            jobs, last = set(), ""
            for n in range(5):
                last = forge.commit(f"down-{n}.txt", f"{n}\n", f"pushed while Redis was down {n}")
                body, headers = signing.github(signing.github_push(forge.url, after=last), HOOK_SECRET)
                answer = requests.post(f"{api.base}/hooks/github", data=body, headers=headers, timeout=30)
                assert answer.status_code == 202, answer.text
                jobs |= set(answer.json()["jobs"])
            assert jobs and requests.get(f"{api.base}/healthz", timeout=5).status_code == 503

            redis_up = FaultProxy(("127.0.0.1", 6379), port=port)  # Redis is back
            deadline = time.monotonic() + 60
            while {api.ok("GET", f"/api/v1/jobs/{job}")["state"] for job in jobs} != {"done"}:
                assert time.monotonic() < deadline, [api.ok("GET", f"/api/v1/jobs/{job}") for job in jobs]
                time.sleep(0.2)
            branches = api.ok("GET", "/api/v1/repos/acme/widgets/branches")["remote_branches"]
            assert {"remote": "origin", "name": "main", "sha": last} in branches
        finally:
            procs.stop_all()
            redis_up.close()
