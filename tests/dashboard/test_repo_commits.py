"""The repo page's commits behind the numbers, through a live `gitferry serve`; plain git on
gitferry's own clone is the oracle."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import Forge
from tests.dashboard.conftest import sign_in_over_http
from tests.support.history import clone_of, git_commit_in, git_log
from tests.support.live import Processes

HOSTILE = '<script>alert(1)</script> "onmouseover=x \u202egnp.exe'


@dataclass
class Diverged:
    name: str
    clone: Path
    http: requests.Session
    base: str  # the live server's address


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
    http, _csrf = sign_in_over_http(api.base)
    return Diverged(name, clone, http, api.base)


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
