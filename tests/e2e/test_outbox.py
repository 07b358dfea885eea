"""Nothing is lost: with the broker down a request is still recorded, and the sweeper sends it later."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from service.jobs import JobQueue, make_celery
from service.jobs.scheduler import resend_lost
from service.settings import load_settings
from service.web import create_app
from tests.support.live import ADMIN
from tests.support.services import redis_database


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
        assert resend_lost(JobQueue(make_celery(settings), store, settings), unsent_after=0) == [job.id]
        messages = redis.Redis.from_url(url).lrange("gitferry", 0, -1)
        assert [json.loads(m)["headers"]["argsrepr"] for m in messages] == [f"[{job.id}]"]
        assert store.jobs.get(job.id).sent_at is not None
