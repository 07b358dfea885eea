"""Commits and comparisons through a live `gitferry serve`, checked against plain git on the
same clone; reads are not jobs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Forge
from tests.support.git_http import GitHttpServer
from tests.support.history import clone_of, git_commit_in, git_log, left_right
from tests.support.live import Api, Processes
from tests.support.repos import git


@dataclass
class Diverged:
    name: str
    clone: Path  # gitferry's clone of it, where plain git is asked the same questions


@pytest.fixture(scope="module")
def diverged(live: Processes, tmp_path_factory: pytest.TempPathFactory) -> Diverged:
    """A repo whose local main has 2 commits of its own and whose origin/main moved on by 3 (a
    merge among them), and a local branch `topic/x` with 2 more than main. Tests only read it."""
    api, repo_name = live.api, "t/reads-diverged"
    forge = Forge(tmp_path_factory.mktemp("reads"))
    forge.commit("README", "hello\n", "first")
    for i in range(3):
        forge.commit(f"f{i}.txt", f"{i}\n", f"forge {i}")
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url}, status=201)
    api.wait_repo(repo_name)
    side = forge.commit("side.txt", "s\n", "side work", branch="side")
    git(forge.work, "checkout", "-q", "main")
    git(forge.work, "merge", "-q", "--no-ff", "-m", "merge side", side)
    git(forge.work, "push", "-q", "origin", "main")
    forge.commit("g.txt", "g\n", "forge after merge")
    clone = clone_of(live.data_dir, forge.url)
    for i in range(2):
        git_commit_in(clone, "main", f"mine {i}")
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "topic/x", "start_point": "main"}, status=201)
    for i in range(2):
        git_commit_in(clone, "topic/x", f"topic {i}")
    api.run(f"/api/v1/repos/{repo_name}/fetch", {})  # a job records the refs as they are now
    return Diverged(repo_name, clone)


def test_commits_of_a_branch_are_git_logs_page_by_page(api: Api, diverged: Diverged) -> None:
    clone, name = diverged.clone, diverged.name
    expected = git_log(clone, "origin/main")
    first = api.ok("GET", f"/api/v1/repos/{name}/commits?ref=origin/main")
    assert first["commits"] == expected and first["next"] is None
    assert first["ref"] == {"ref": "origin/main", "kind": "remote_branch", "sha": expected[0]["sha"],
                            "remote": "origin", "branch": "main"}
    listed, after = [], ""
    while True:
        page = api.ok("GET", f"/api/v1/repos/{name}/commits?ref=origin/main&limit=2{after}")
        listed += page["commits"]
        assert len(page["commits"]) <= 2
        if page["next"] is None:
            break
        assert page["next"] == page["commits"][-1]["sha"]
        after = f"&after={page['next']}"
    assert listed == expected


def test_what_a_branch_is_ahead_by_and_other_refs(api: Api, diverged: Diverged) -> None:
    clone, name = diverged.clone, diverged.name
    ahead = api.ok("GET", f"/api/v1/repos/{name}/commits?ref=main&not=origin/main")
    assert ahead["commits"] == git_log(clone, "main", "^origin/main")
    assert [c["subject"] for c in ahead["commits"]] == ["mine 1", "mine 0"]
    assert ahead["not"]["sha"] == git(clone, "rev-parse", "origin/main")
    default = api.ok("GET", f"/api/v1/repos/{name}/commits")  # the default branch
    assert default["ref"]["ref"] == "main" and default["commits"] == git_log(clone, "main")
    sha = git(clone, "rev-parse", "origin/main~1")
    for ref in (sha, sha[:10]):
        by_sha = api.ok("GET", f"/api/v1/repos/{name}/commits?ref={ref}&limit=500")
        assert (by_sha["ref"]["kind"], by_sha["commits"]) == ("commit", git_log(clone, sha))
    topic = api.ok("GET", f"/api/v1/repos/{name}/commits?ref=topic/x&not=main")
    assert [c["subject"] for c in topic["commits"]] == ["topic 1", "topic 0"]


def test_compare_is_rev_list_left_right_with_merge_base(api: Api, diverged: Diverged) -> None:
    clone, name = diverged.clone, diverged.name
    for base, head in (("origin/main", "main"), ("main", "origin/main"), ("main", "topic/x"),
                       ("topic/x", "topic/x")):
        found = api.ok("GET", f"/api/v1/repos/{name}/compare/{base}...{head}")
        ahead, behind = left_right(clone, base, head)
        assert [c["sha"] for c in found["ahead"]["commits"]] == ahead, (base, head)
        assert [c["sha"] for c in found["behind"]["commits"]] == behind, (base, head)
        assert (found["ahead"]["total"], found["behind"]["total"]) == (len(ahead), len(behind))
        assert found["merge_base"] == git(clone, "merge-base", base, head)
        assert found["ahead"]["commits"] == git_log(clone, head, f"^{base}")
        assert (found["base"]["ref"], found["head"]["ref"]) == (base, head)
        assert found["web_url"] is None  # origin is a file:// remote, on no forge
    capped = api.ok("GET", f"/api/v1/repos/{name}/compare/main...origin/main?limit=1")
    assert (len(capped["ahead"]["commits"]), capped["ahead"]["total"], capped["behind"]["total"]) == (1, 3, 2)


def test_reads_are_not_jobs(api: Api, diverged: Diverged) -> None:
    name = diverged.name
    before = api.ok("GET", f"/api/v1/jobs?repo={name}")["jobs"]
    for _ in range(3):
        api.ok("GET", f"/api/v1/repos/{name}/commits?ref=main")
        api.ok("GET", f"/api/v1/repos/{name}/compare/origin/main...main")
    api.call("GET", f"/api/v1/repos/{name}/commits?ref=nope")
    assert api.ok("GET", f"/api/v1/jobs?repo={name}")["jobs"] == before


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/commits?ref=nope", 404, "ref_not_found"),
    ("/commits?ref=main&not=nope", 404, "ref_not_found"),
    ("/commits?ref=deadbeef", 404, "ref_not_found"),
    ("/commits?ref=a..b", 422, "invalid"),
    ("/commits?ref=-x", 422, "invalid"),
    ("/commits?limit=0", 422, "invalid"),
    ("/commits?limit=501", 422, "invalid"),
    ("/commits?limit=ten", 422, "invalid"),
    ("/commits?after=abc", 422, "invalid"),
    (f"/commits?after={'0' * 40}", 422, "after_not_found"),
    ("/compare/main", 422, "invalid"),
    ("/compare/main...", 422, "invalid"),
    ("/compare/main...nope", 404, "ref_not_found"),
    ("/compare/a..b...main", 422, "invalid"),
    ("/compare/main...main?limit=-1", 422, "invalid"),
])
def test_bad_reads_are_clear_errors(api: Api, diverged: Diverged, path: str, status: int, code: str) -> None:
    name = diverged.name
    response = api.call("GET", f"/api/v1/repos/{name}{path}")
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


def test_reads_of_an_unknown_repo_are_404(api: Api) -> None:
    for path in ("/commits", "/compare/main...main"):
        response = api.call("GET", f"/api/v1/repos/acme/nothing-here{path}")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "repo_not_found")


def test_a_comparison_links_to_the_same_on_the_forge(api: Api, tmp_path: Path) -> None:
    """A repo on a forge added as Gitea: the repo, its remote and a comparison carry their pages."""
    forge = Forge(tmp_path / "acme", name="widgets")
    forge.commit("README", "hello\n", "first")
    with GitHttpServer(tmp_path) as http:
        added = api.ok("POST", "/api/v1/forges", {"kind": "gitea", "host": http.netloc,
                                                  "api_url": f"http://{http.netloc}"}, status=201)
        try:
            api.ok("POST", "/api/v1/repos", {"name": "t/on-gitea", "url": http.url("acme/widgets.git")},
                   status=201)
            repo = api.wait_repo("t/on-gitea")
            page = f"http://{http.netloc}/acme/widgets"
            assert (repo["web_url"], repo["remotes"][0]["web_url"]) == (page, page)
            found = api.ok("GET", "/api/v1/repos/t/on-gitea/compare/origin/main...main")
            assert found["web_url"] == f"{page}/compare/main...main"
            sha = found["head"]["sha"]
            found = api.ok("GET", f"/api/v1/repos/t/on-gitea/compare/main...{sha}")
            assert found["web_url"] == f"{page}/compare/main...{sha}"
        finally:
            api.ok("DELETE", f"/api/v1/forges/{added['host']}", status=204)


def test_the_commits_behind_a_branchs_numbers_are_the_ones_its_listing_counted(api: Api, diverged: Diverged) -> None:
    """The branch listing says main is ahead 2 and behind 3; the commits and the comparison of
    the same refs list exactly those commits, of the same tips."""
    name = diverged.name
    main = next(b for b in api.ok("GET", f"/api/v1/repos/{name}/branches")["branches"] if b["name"] == "main")
    upstream = main["upstream"]
    ahead = api.ok("GET", f"/api/v1/repos/{name}/commits?ref=main&not={upstream}")
    behind = api.ok("GET", f"/api/v1/repos/{name}/commits?ref={upstream}&not=main")
    assert (len(ahead["commits"]), len(behind["commits"])) == (main["ahead"], main["behind"]) == (2, 3)
    assert ahead["ref"]["sha"] == main["sha"]
    compared = api.ok("GET", f"/api/v1/repos/{name}/compare/{upstream}...main")
    assert (compared["ahead"]["total"], compared["behind"]["total"]) == (main["ahead"], main["behind"])
    assert compared["ahead"]["commits"] == ahead["commits"] and compared["behind"]["commits"] == behind["commits"]
