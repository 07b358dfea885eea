"""The commit graph partial through Flask's test client: labels with their remote's provider icon, the
local-only and behind markers, a merge's lines, hostile names escaped. The worker's read runs for real
on a real clone (READS["graph"]); only the broker's hop between web and worker is left out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.domain.records import Repo
from service.web.dashboard import graph_page
from tests.dashboard.conftest import Markup, sign_in
from tests.support.repos import commit_to, file_url, git, init_forge, make_commit, push, work_clone
from workers.git import Clone, GitConfig
from workers.tasks.reads import READS

HOSTILE_BRANCHES = ["<script>alert(1)</script>", 'x"onmouseover=alert(1)', "evil\u202etxt.exe"]
HOSTILE_AUTHOR = 'x"onmouseover=alert(3) \u202eman & co'  # git takes no < or > in a name
FORK_URL = "https://github.com/mallory/widgets.git"  # the fork's provider, as the store knows the remote


@dataclass
class Shown:
    repo: Repo
    clone: Clone
    mine: str  # main's own commit, on no remote
    theirs: str  # origin/main's new commit, not on main yet
    merge: str
    asked: list[dict[str, Any]]  # the reads the worker answered


@pytest.fixture
def shown(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shown:
    forge = init_forge(tmp_path / "forge.git")
    work = work_clone(forge, tmp_path / "work")
    make_commit(work, "README", "hi\n", "first", branch="main")
    make_commit(work, "side.txt", "1\n", "on side", branch="side")
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    merge = git(work, "rev-parse", "HEAD")
    push(work, "main", "side")
    for name in HOSTILE_BRANCHES:
        push(work, f"side:refs/heads/{name}")
    fork = init_forge(tmp_path / "fork.git")
    git(work, "push", "-q", file_url(fork), "main:refs/heads/feature")
    clone = Clone(tmp_path / "clone.git", GitConfig(allow_protocols=("file",), allow_local_hosts=True))
    assert clone.create(file_url(forge)) == "main"
    clone.add_remote("fork", file_url(fork))
    clone.fetch("fork")
    mine = commit_to(clone.path, "main", "mine.txt", "1\n", "mine", tmp_path / "scratch")
    git(work, "commit", f"--author={HOSTILE_AUTHOR} <a@example.com>", "-q", "--allow-empty", "-m",
        "<script>alert(2)</script> \u202e subject")
    push(work, "main")
    clone.forget()
    clone.fetch("origin")
    store = app.extensions["gitferry"].store
    repo = store.repos.create("acme/widgets", file_url(forge), pull_strategy=None, fetch_interval=None,
                              protected_branches=[])
    store.repos.ready(repo.id)
    store.repos.add_remote(repo.id, "fork", FORK_URL)
    store.repos.save_refs(repo.id, clone.refs().to_dict())
    # The worker's own read, on the clone; what the broker would carry is JSON both ways.
    asked: list[dict[str, Any]] = []

    def read(repo_id: int, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params)
        return {"ok": READS[kind](clone, params)}

    monkeypatch.setattr(app.extensions["gitferry"].jobs, "read", read)
    graph_page._remembered.clear()  # (another test's repo 1 may have had the very same refs)
    return Shown(store.repos.get(repo.id), clone, mine, git(clone.path, "rev-parse", "origin/main"), merge, asked)


def row_of(page: str, sha: str) -> str:
    return page.split(f'data-sha="{sha}"', 1)[1].split("</li>", 1)[0]


def test_the_graph_shows_labels_with_provider_icons_markers_and_merge_lines(client: Any, shown: Shown) -> None:
    sign_in(client)
    answer = client.get("/dashboard/graph/acme/widgets", headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    page = answer.text
    listed = git(shown.clone.path, "rev-list", "--topo-order", "--branches", "--remotes", "--glob=refs/remote-tags")
    assert re.findall(r'data-sha="([0-9a-f]+)"', page) == listed.split()
    mine = row_of(page, shown.mine)
    assert "local only" in mine and '<span class="ref-label branch"><bdi>main</bdi></span>' in mine
    theirs = row_of(page, shown.theirs)
    assert "behind" in theirs and "local only" not in theirs
    assert re.search(r'<span class="ref-label remote"><img class="icon" src="[^"]*icons/other\.svg"[^>]*>'
                     r"<bdi>origin/main</bdi>", theirs)
    merge = row_of(page, shown.merge)
    assert re.search(r'<span class="ref-label remote"><img class="icon" src="[^"]*icons/github\.svg"[^>]*>'
                     r"<bdi>fork/feature</bdi>", merge)  # the fork's remote carries its provider's icon
    assert "behind" not in merge and "local only" not in merge
    assert re.search(r'<path d="M10 \d+C10 \d+ 24 \d+ 24 \d+" class="line lane-1"/>', page)  # the merge's line out
    assert 'class="dot lane-0 local-only"><title>local only</title>' in page
    assert 'class="dot behind lane-' in page
    assert "local only: on no remote yet" in page and "behind upstream: a pull brings it" in page  # the legend


def test_hostile_names_subjects_and_authors_are_text(client: Any, shown: Shown) -> None:
    sign_in(client)
    page = client.get("/dashboard/graph/acme/widgets", headers={"HX-Request": "true"}).text
    assert "<script>" not in page and "<img src=x" not in page and '"onmouseover' not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "x&#34;onmouseover=alert(1)" in page and "evil[U+202E]txt.exe" in page
    assert "x&#34;onmouseover=alert(3) [U+202E]man &amp; co" in page
    markup = Markup(page)
    assert not markup.scripts and not markup.handlers and not markup.inline_script


def test_more_commits_a_bad_limit_and_a_repo_still_cloning_or_empty(app: Any, client: Any, shown: Shown,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    token = app.extensions["gitferry"].store.tokens.create("reader", "read")
    sign_in(client, token)  # a read token sees the graph
    few = client.get("/dashboard/graph/acme/widgets?limit=2", headers={"HX-Request": "true"}).text
    assert len(re.findall(r"<li data-sha=", few)) == 2
    assert 'hx-get="/dashboard/graph/acme/widgets?limit=202" hx-trigger="revealed, click"' in few
    for limit in ("0", "2001", "x"):
        refused = client.get(f"/dashboard/graph/acme/widgets?limit={limit}", headers={"HX-Request": "true"})
        assert refused.status_code == 422 and "limit must be a whole number from 1 to 2000" in refused.text
    store = app.extensions["gitferry"].store
    store.repos.create("acme/new", "https://example.com/acme/new.git", pull_strategy=None, fetch_interval=None,
                       protected_branches=[])
    cloning = client.get("/dashboard/graph/acme/new", headers={"HX-Request": "true"})
    assert cloning.status_code == 200 and "still cloning" in cloning.text
    store.repos.ready(store.repos.by_name("acme/new").id)  # type: ignore[union-attr]  # cloned, and empty
    monkeypatch.setattr(app.extensions["gitferry"].jobs, "read", lambda *_: {"ok": {"commits": [], "more": False}})
    assert "No commits yet: the repo is empty." in client.get("/dashboard/graph/acme/new").text
    page = client.get("/dashboard/repos/acme/widgets").text
    assert 'hx-get="/dashboard/graph/acme/widgets" hx-trigger="load"' in page
    store.repos.create("acme/graph", "https://example.com/acme/graph.git", pull_strategy=None,
                       fetch_interval=None, protected_branches=[])
    own = client.get("/dashboard/repos/acme/graph")  # its own page, not the graph of a repo "acme"
    assert own.status_code == 200 and 'hx-get="/dashboard/graph/acme/graph"' in own.text


def test_the_graph_is_remembered_while_the_recorded_refs_stay_the_same(app: Any, client: Any, shown: Shown,
                                                                        tmp_path: Path) -> None:
    sign_in(client)
    path = "/dashboard/graph/acme/widgets"
    first = client.get(path).text
    assert client.get(path).text == first and len(shown.asked) == 1
    client.get(f"{path}?limit=3")
    assert len(shown.asked) == 2  # another limit is another answer
    added = commit_to(shown.clone.path, "main", "more.txt", "1\n", "one more", tmp_path / "scratch-2")
    shown.clone.forget()
    app.extensions["gitferry"].store.repos.save_refs(shown.repo.id, shown.clone.refs().to_dict())
    assert f'data-sha="{added}"' in client.get(path).text and len(shown.asked) == 3
