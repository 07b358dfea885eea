"""With local remotes off, `POST /api/v1/repos` with any spelling of this machine or a private
network is a 422, or, for a name that only resolves there, a clone job that fails with
remote_not_allowed; nothing connects to the listener on 127.0.0.1 either way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from service import outbound
from service.domain.records import JobEnd
from service.jobs import JobQueue, make_celery
from service.settings import load_settings
from service.web import create_app
from tests.support.live import ADMIN
from tests.support.ssrf import NAMES, Listener, fullwidth, resolver, spellings
from workers.git import GitConfig
from workers.tasks.context import WorkerContext
from workers.tasks.notify import deliver
from workers.tasks.run import run_job

HEADERS = {"Authorization": f"Bearer {ADMIN}"}


class ResolvingContext(WorkerContext):
    """A worker whose git resolves the corpus's names (tests.support.ssrf.NAMES) too."""

    def git_config(self, forges_version: str | None = None) -> GitConfig:
        return replace(super().git_config(forges_version), resolve=resolver())


@dataclass
class Service:
    client: FlaskClient
    worker: WorkerContext


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path / "data"), "GITFERRY_ADMIN_TOKEN": ADMIN})
    assert not settings.allow_local_remotes
    app = create_app(settings)
    services = app.extensions["gitferry"]
    try:
        yield Service(app.test_client(), ResolvingContext(settings, services.store,
                                                          JobQueue(make_celery(settings), services.store, settings)))
    finally:
        services.store.close()


def test_no_spelling_of_a_local_host_reaches_it(service: Service) -> None:
    wrong = {}
    with Listener() as listener:
        for n, case in enumerate(spellings(listener.port)):
            answer = service.client.post("/api/v1/repos", json={"name": f"acme/r{n}", "url": case.url},
                                         headers=HEADERS)
            if not case.by_name:
                if answer.status_code != 422 or answer.get_json()["error"]["code"] != "invalid":
                    wrong[case.url] = answer.get_data(as_text=True)
                continue
            assert answer.status_code == 201, answer.get_data(as_text=True)
            job_id = answer.get_json()["job"]["id"]
            run_job(service.worker, job_id)
            job = service.worker.store.jobs.get(job_id)
            assert job is not None
            if (job.state, job.error_code) != ("failed", "remote_not_allowed"):
                wrong[case.url] = f"{job.state} {job.error_code} {job.error_message}"
    assert wrong == {}
    assert listener.connections == 0


@pytest.mark.parametrize("url", ["[::1]:x.git", "git@[::1]:x.git", "https://100.64.0.1/x.git",
                                 "https://%31%32%37.0.0.1/x.git", f"https://{fullwidth('127.0.0.1')}/x.git"])
def test_the_answer_says_the_host_is_local(service: Service, url: str) -> None:
    answer = service.client.post("/api/v1/repos", json={"name": "acme/widgets", "url": url}, headers=HEADERS)
    assert answer.status_code == 422
    message = answer.get_json()["error"]["message"]
    assert "local or private" in message and "ext::" not in message, message


def test_a_notify_url_whose_host_resolves_locally_is_not_posted_to(service: Service,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The API takes a notify_url on a public-looking name; when a job ends, the name is resolved
    where the notification would connect, and one that leads here is refused: nothing connects."""
    monkeypatch.setattr(outbound, "resolve", resolver())
    store = service.worker.store
    with Listener() as listener:
        repo = store.repos.create("acme/told", "https://example.com/acme/told.git", pull_strategy=None,
                                  fetch_interval=None, protected_branches=[])
        for n, name in enumerate(NAMES):
            answer = service.client.patch("/api/v1/repos/acme/told", headers=HEADERS,
                                          json={"notify_url": f"https://{name}:{listener.port}/hook/{n}"})
            assert answer.status_code == 200, answer.get_data(as_text=True)
            job, _ = store.jobs.add(store.repos.get(repo.id), "fetch", "api", {})
            started = store.jobs.start(job.id, 30)
            assert started is not None
            ended = store.jobs.end(JobEnd(started.job, started.repo, {"fetched": []}))
            assert ended is not None and ended.notification is not None
            assert deliver(service.worker, ended.notification) == "pending"
            note = store.notifications.get(ended.notification)
            assert note is not None and note.last_status is None
            assert f"not sent: host '{name}' resolves to" in str(note.last_error)
            assert "a local or private address" in str(note.last_error)
    assert listener.connections == 0
