"""The repo page's commits behind the numbers, forced pushes and backups, through a live `gitferry serve`; plain git on
gitferry's own clone is the oracle."""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from service.store.forges import FRESH_FOR
from tests.conftest import Forge
from tests.dashboard.conftest import sign_in_over_http
from tests.support.git_http import GitHttpServer
from tests.support.history import clone_of, git_commit_in, git_log
from tests.support.live import Api, Processes
from tests.support.repos import git

HOSTILE = '<script>alert(1)</script> "onmouseover=x \u202egnp.exe'


@dataclass
class Diverged:
    name: str
    clone: Path
    http: requests.Session
    csrf: str
    base: str  # the live server's address
    forge: Forge


@pytest.fixture(scope="module")
def diverged(live: Processes, tmp_path_factory: pytest.TempPathFactory) -> Diverged:
    """main has 2 commits of its own (one with a hostile subject); origin/main moved on by 3."""
    api, name = live.api, "t/page-diverged"
    forge = Forge(tmp_path_factory.mktemp("page"))
    forge.commit("README", "hello\n", "first")
    api.ok("POST", "/api/v1/repos", {"name": name, "url": forge.url}, status=201)
    api.wait_repo(name)
    for i in range(3):
        forge.commit(f"f{i}.txt", f"{i}\n", f"forge {i}")
    clone = clone_of(live.data_dir, forge.url)
    git_commit_in(clone, "main", "mine 0")
    git_commit_in(clone, "main", HOSTILE)
    api.run(f"/api/v1/repos/{name}/fetch", {})  # a job records the refs as they are now
    http, csrf = sign_in_over_http(api.base)
    return Diverged(name, clone, http, csrf, api.base, forge)


def expand_link(page: str, branch: str) -> str:
    """The address the branch's ahead/behind counts load their commits from."""
    row = page.split(f'data-branch="{branch}"', 1)[1].split("</tr>", 1)[0]
    found = re.search(r'hx-get="([^"]+)"', row)
    assert found, row
    return html.unescape(found.group(1))


def listed(part: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<code class="sha" title="([0-9a-f]+)"', part)]


def test_the_counts_open_to_the_commits_behind_them_as_git_lists_them(diverged: Diverged) -> None:
    page = diverged.http.get(f"{diverged.base}/dashboard/repos/{diverged.name}", timeout=30).text
    assert "↑ 2" in page and "↓ 3" in page
    link = expand_link(page, "main")
    opened = diverged.http.get(f"{diverged.base}{link}", headers={"HX-Request": "true"}, timeout=30)
    assert opened.status_code == 200, opened.text
    ahead_part, behind_part = opened.text.split('<h3 class="behind">', 1)
    ahead, behind = git_log(diverged.clone, "main", "^origin/main"), git_log(diverged.clone, "origin/main", "^main")
    assert listed(ahead_part) == [c["sha"] for c in ahead] and len(ahead) == 2
    assert listed(behind_part) == [c["sha"] for c in behind] and len(behind) == 3
    for commit in ahead + behind:
        assert str(commit["author"]["name"]) in opened.text
    assert "Ahead by 2" in ahead_part and "Behind by 3" in behind_part
    assert "forge 2" in behind_part and "mine 0" in ahead_part
    # the hostile subject is text, its direction override made visible, never markup
    assert "<script>" not in opened.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in opened.text
    assert "&#34;onmouseover=x [U+202E]gnp.exe" in opened.text
    assert "forge-link" not in opened.text  # origin is a file:// remote: no forge page to link


def test_a_bad_comparison_is_a_4xx_notice_that_says_why(diverged: Diverged) -> None:
    url = f"{diverged.base}/dashboard/repos/{diverged.name}/compare"
    for query, status, words in (("?base=origin/main&head=nope", 404, "nope"),
                                 ("?base=..&head=main", 422, "base"),
                                 ("", 422, "base")):
        answer = diverged.http.get(url + query, headers={"HX-Request": "true"}, timeout=30)
        assert answer.status_code == status and words in answer.text, (query, answer.text)
        assert "Traceback" not in answer.text
    missing = diverged.http.get(f"{diverged.base}/dashboard/repos/t/nothing-here/compare?base=a&head=b", timeout=30)
    assert missing.status_code == 404


def last_job(api: Api, name: str) -> dict[str, object]:
    """The repo's newest job, once it ended."""
    newest = api.ok("GET", f"/api/v1/jobs?repo={name}")["jobs"][0]
    return api.wait_job(newest["id"])


def post(diverged: Diverged, path: str, data: dict[str, str]) -> requests.Response:
    return diverged.http.post(f"{diverged.base}/dashboard/repos/{diverged.name}{path}", timeout=30,
                              data={"csrf": diverged.csrf, **data})


def test_a_rejected_push_offers_a_force_that_names_what_it_discards_then_shows_the_backup(
        live: Processes, diverged: Diverged) -> None:
    api, clone, name = live.api, diverged.clone, diverged.name
    remote_tip, discarded = git(clone, "rev-parse", "origin/main"), git_log(diverged.clone, "origin/main", "^main")
    assert post(diverged, "/push", {"branch": "main"}).status_code == 200  # back on the page
    assert last_job(api, name)["result"]["outcome"] == "rejected"
    page = diverged.http.get(f"{diverged.base}/dashboard/repos/{name}", timeout=30).text
    shown = page.split('class="card push-shown rejected"', 1)[1].split("</section>", 1)[0]
    assert remote_tip[:10] in shown.split("<ol", 1)[0]  # the remote's tip the rejection saw
    assert listed(shown.split("<ol", 1)[1]) == [c["sha"] for c in discarded] and len(discarded) == 3
    assert f'name="expect" value="{remote_tip}"' in shown and 'name="force" value="yes"' in shown
    confirm = html.unescape(re.search(r'data-confirm="([^"]+)"', shown).group(1))  # type: ignore[union-attr]
    assert "Force push main to origin/main? It discards 3 commits" in confirm
    assert all(f"{c['sha'][:10]} {c['subject']}" in confirm for c in discarded)
    # a stale expect is refused by the worker: nothing is overwritten
    post(diverged, "/push", {"branch": "main", "force": "yes", "expect": git(clone, "rev-parse", "main")})
    assert last_job(api, name)["result"]["reason"] == "stale"
    assert git(diverged.forge.bare, "rev-parse", "main") == remote_tip
    page = diverged.http.get(f"{diverged.base}/dashboard/repos/{name}", timeout=30).text
    shown = page.split('class="card push-shown rejected"', 1)[1].split("</section>", 1)[0]
    assert "not at" in shown and "nothing was pushed" in shown  # what went wrong, and the force still offered
    assert f'name="expect" value="{remote_tip}"' in shown and len(listed(shown.split("<ol", 1)[1])) == 3
    post(diverged, "/push", {"branch": "main", "force": "yes", "expect": remote_tip})
    forced = last_job(api, name)["result"]
    assert forced["outcome"] == "pushed" and forced["backup_ref"]
    assert git(diverged.forge.bare, "rev-parse", "main") == git(clone, "rev-parse", "main")
    page = diverged.http.get(f"{diverged.base}/dashboard/repos/{name}", timeout=30).text
    assert "push-shown rejected" not in page
    kept = page.split('class="card push-shown forced"', 1)[1].split("</section>", 1)[0]
    assert forced["backup_ref"] in kept and remote_tip[:10] in kept
    backups = api.ok("GET", f"/api/v1/repos/{name}/backups")["backups"]
    assert [b["sha"] for b in backups] == [remote_tip]
    assert f'data-backup="{backups[0]["id"]}"' in page


def test_backups_are_restored_and_deleted_by_admins_only(live: Processes, diverged: Diverged) -> None:
    api, name = live.api, diverged.name
    backups = api.ok("GET", f"/api/v1/repos/{name}/backups")["backups"]
    assert backups, "the force push test keeps one"
    backup = backups[0]
    token = api.ok("POST", "/api/v1/tokens", {"name": "page-reader", "scope": "read"}, status=201)["token"]
    reader, reader_csrf = sign_in_over_http(diverged.base, token)
    seen = reader.get(f"{diverged.base}/dashboard/repos/{name}", timeout=30).text
    row = seen.split(f'data-backup="{backup["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert row.count('disabled title="needs an admin token"') == 2
    assert "Restore and Delete are off: this needs an admin token." in seen
    refused = reader.post(f"{diverged.base}/dashboard/repos/{name}/backups/{backup['id']}/delete", timeout=30,
                          data={"csrf": reader_csrf})
    assert refused.status_code == 403 and api.ok("GET", f"/api/v1/repos/{name}/backups")["backups"] == backups
    before = api.ok("GET", "/api/v1/jobs?repo=" + name)["jobs"][0]["id"]
    assert post(diverged, f"/backups/{backup['id']}/restore", {}).status_code == 200
    restored = last_job(api, name)
    assert restored["id"] != before and restored["kind"] == "restore" and restored["state"] == "done"
    assert git(diverged.forge.bare, "rev-parse", "main") == backup["sha"]
    for missing in ("999999", "nope"):
        answer = post(diverged, f"/backups/{missing}/delete", {})
        assert answer.status_code == 404 and "no backup" in answer.text
    assert post(diverged, f"/backups/{backup['id']}/delete", {}).status_code == 200
    assert backup["id"] not in [b["id"] for b in api.ok("GET", f"/api/v1/repos/{name}/backups")["backups"]]


def test_a_comparison_on_a_forge_links_to_the_same_there(live: Processes, tmp_path: Path) -> None:
    api, name = live.api, "t/page-on-gitea"
    forge = Forge(tmp_path / "acme", name="gadgets")
    forge.commit("README", "hello\n", "first")
    with GitHttpServer(tmp_path) as served:
        added = api.ok("POST", "/api/v1/forges", {"kind": "gitea", "host": served.netloc,
                                                  "api_url": f"http://{served.netloc}"}, status=201)
        try:
            api.ok("POST", "/api/v1/repos", {"name": name, "url": served.url("acme/gadgets.git")}, status=201)
            api.wait_repo(name)
            http, _csrf = sign_in_over_http(api.base)
            page = http.get(f"{api.base}/dashboard/repos/{name}", timeout=30).text
            # each web process reads the forges again once its copy is FRESH_FOR seconds old
            deadline, link = time.monotonic() + FRESH_FOR + 2, None
            while link is None and time.monotonic() < deadline:
                opened = http.get(f"{api.base}{expand_link(page, 'main')}", headers={"HX-Request": "true"}, timeout=30)
                link = re.search(r'<a class="forge-link" href="([^"]+)"', opened.text)
                time.sleep(0 if link else 0.25)
            assert link and html.unescape(link.group(1)) == f"http://{served.netloc}/acme/gadgets/compare/main...main"
            assert "Ahead by 0" in opened.text and "Behind by 0" in opened.text
        finally:
            api.ok("DELETE", f"/api/v1/forges/{added['host']}", status=204)
