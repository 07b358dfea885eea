"""A worker reads the forges' credentials again only when the forges changed."""

from __future__ import annotations

from pathlib import Path

from service.domain.forge import ForgeConfig
from service.jobs import JobQueue, make_celery, open_store
from service.settings import load_settings
from workers.tasks.context import WorkerContext


def test_a_forge_added_between_two_jobs_brings_its_credentials_to_the_second(tmp_path: Path) -> None:
    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_SECRET_KEY": "k" * 32})
    store = open_store(settings)
    store.upgrade()
    try:
        ctx = WorkerContext(settings, store, JobQueue(make_celery(settings), store, settings))
        repo = store.repos.create("acme/widgets", "https://git.example.com/acme/widgets.git", pull_strategy=None,
                                  fetch_interval=None, protected_branches=[])
        read = []

        def config_of_next_job():  # type: ignore[no-untyped-def]
            job, _ = store.jobs.add(repo, "fetch", "api", {})
            started = store.jobs.start(job.id, lease=30)
            assert started is not None and started.repo is not None
            read.append(store.forges.in_effect(started.forges_version))
            return ctx.git_config(started.forges_version)

        before = config_of_next_job()
        assert "git.example.com" not in before.credentials
        config_of_next_job()
        assert read[-1] is read[-2]  # nothing changed: not read again

        store.forges.add(ForgeConfig(kind="gitea", host="git.example.com", api_url="https://git.example.com/api/v1",
                                     token="s3cret-token", git_protocol="https", username="bot"))
        after = config_of_next_job()
        assert after.credentials["git.example.com"].password == "s3cret-token"
        config_of_next_job()
        assert read[-1] is read[-2]

        store.forges.delete("git.example.com")
        assert "git.example.com" not in config_of_next_job().credentials
    finally:
        store.close()
