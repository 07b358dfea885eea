"""A worker reads the forges' credentials again only when the forges changed."""

from __future__ import annotations

from pathlib import Path

from service.dispatch import Dispatcher, make_celery
from service.forge_config import forge_store
from service.settings import load_settings
from service.store import Store
from workers.tasks.context import WorkerContext


def test_a_forge_added_between_two_jobs_brings_its_credentials_to_the_second(tmp_path: Path) -> None:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_SECRET_KEY": "k" * 32})
    store = Store(settings.database_url)
    store.upgrade()
    try:
        ctx = WorkerContext(settings, store, Dispatcher(make_celery(settings), store, settings))
        repo = store.repos.create("acme/widgets", "https://git.example.com/acme/widgets.git", pull_strategy=None,
                                  fetch_interval=None, protected_branches=[])

        def config_of_next_job():  # type: ignore[no-untyped-def]
            job, _ = store.jobs.create(repo, "fetch", "api", {})
            started = store.jobs.start(job["id"], lease=30)
            assert started is not None and started[1] is not None
            return ctx.git_config_for(started[1]["forges_version"])

        before = config_of_next_job()
        assert "git.example.com" not in before.credentials
        assert config_of_next_job() is before  # nothing changed: not read again

        forge_store(settings, store).add(kind="gitea", host="git.example.com", api_url="https://git.example.com/api/v1",
                                         token="s3cret-token", webhook_secret="", git_protocol="https", username="bot")
        after = config_of_next_job()
        assert after.credentials["git.example.com"].password == "s3cret-token"
        assert config_of_next_job() is after

        forge_store(settings, store).delete("git.example.com")
        assert "git.example.com" not in config_of_next_job().credentials
    finally:
        store.close()
