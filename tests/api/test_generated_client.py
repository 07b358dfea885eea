"""A client generated from the served document (openapi-python-client) drives the live service:
what the document says is enough to add a repo, fetch, list branches and follow a job."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import requests

from tests.conftest import Forge
from tests.support.live import ADMIN, Api, Processes
from tests.support.repos import branch_sha


@pytest.fixture(scope="module")
def generated(live: Processes, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package generated from the document the live service serves, imported."""
    root = tmp_path_factory.mktemp("client")
    document = root / "openapi.json"
    document.write_bytes(requests.get(live.api.base + "/api/v1/openapi.json", timeout=10).content)
    (root / "config.yaml").write_text("post_hooks: []\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    run = subprocess.run([str(generator), "generate", "--path", str(document), "--output-path",
                          str(root / "gitferry_client"), "--meta", "none", "--config", str(root / "config.yaml")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Unable" not in run.stdout + run.stderr, run.stdout + run.stderr  # no part of the document left out
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module("gitferry_client")
    finally:
        sys.path.remove(str(root))


def test_a_generated_client_adds_a_repo_fetches_lists_branches_and_gets_a_job(
        generated: ModuleType, api: Api, forge: Forge, repo_name: str) -> None:
    from gitferry_client.api.branches import list_branches
    from gitferry_client.api.jobs import get_job
    from gitferry_client.api.operations import fetch
    from gitferry_client.api.repos import add_repo, get_repo
    from gitferry_client.models import AddRepoBody, CloneJob, FetchBody, FetchJob

    client = generated.AuthenticatedClient(base_url=api.base, token=ADMIN, raise_on_unexpected_status=True)
    with client:
        repo = add_repo.sync(client=client, body=AddRepoBody(name=repo_name, url=forge.url))
        assert (repo.name, repo.state.value) == (repo_name, "cloning")
        assert isinstance(repo.job, CloneJob)
        cloned = get_job.sync(job_id=repo.job.id, client=client)
        assert isinstance(cloned, CloneJob)
        api.wait_repo(repo_name)
        assert get_repo.sync(name=repo_name, client=client).default_branch == "main"

        new = forge.commit("a.txt", "a\n", "second")
        answer = fetch.sync_detailed(name=repo_name, client=client, body=FetchBody(remote="origin"), wait=30)
        assert answer.status_code == 200
        job = answer.parsed.job
        assert isinstance(job, FetchJob) and job.state.value == "done"
        fetched = job.result.remotes["origin"]
        assert [(m.ref, m.new) for m in fetched.updated] == [("refs/heads/main", new)]
        assert fetched.default_branch == "main"

        again = get_job.sync(job_id=job.id, client=client)
        assert isinstance(again, FetchJob) and again.result.to_dict() == job.result.to_dict()

        listing = list_branches.sync(name=repo_name, client=client)
        main = next(b for b in listing.branches if b.name == "main")
        assert (main.upstream, main.behind) == ("origin/main", 1)
        origin_main = next(b for b in listing.remote_branches if (b.remote, b.name) == ("origin", "main"))
        assert origin_main.sha == new == branch_sha(forge.bare, "main")
