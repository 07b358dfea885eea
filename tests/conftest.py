"""Fixtures shared by all tests: settings on temp folders, the app and its test client, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings, load_settings
from tests.support.live import ADMIN, HOOK_SECRET, Api, Processes
from tests.support.repos import file_url, init_forge, make_commit, push, work_clone


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({
        "GITFERRY_DATA_DIR": str(tmp_path / "data"),
        "GITFERRY_ADMIN_TOKEN": ADMIN,
        "GITFERRY_ALLOW_LOCAL_REMOTES": "1",
        "GITFERRY_FETCH_INTERVAL": "0",
    })


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from service.web import create_app

    app = create_app(settings)
    yield app
    app.extensions["gitferry"].store.close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    """One `gitferry serve` on embedded defaults for the whole session (auto-fetch off)."""
    procs = Processes(tmp_path_factory.mktemp("serve"), {"GITFERRY_FETCH_INTERVAL": "0",
                                                         "GITFERRY_SECRET_KEY": "test-secret-key-0123456789",
                                                         "GITFERRY_WEBHOOK_SECRET": HOOK_SECRET})
    procs.serve()
    yield procs
    procs.stop_all()


@pytest.fixture
def api(live: Processes) -> Api:
    return live.api


class Forge:
    """A bare repo standing in for a forge, and a work clone to make commits in."""

    def __init__(self, root: Path, name: str = "forge"):
        self.bare = init_forge(root / f"{name}.git")
        self.work = work_clone(self.bare, root / f"{name}-work")
        self.url = file_url(self.bare)

    def commit(self, path: str, content: str, message: str, branch: str = "main", push_it: bool = True) -> str:
        sha = make_commit(self.work, path, content, message, branch=branch)
        if push_it:
            push(self.work, branch)
        return sha


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    f = Forge(tmp_path)
    f.commit("README", "hello\n", "first")
    return f


_counter = iter(range(1, 10**9))


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repo name no other test of the session uses."""
    return f"t/{request.node.name.split('[')[0].replace('_', '-')}-{next(_counter)}"
