"""Attacker-controlled names (branches pushed to a forge) through every page: escaped, never run."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.dashboard.conftest import Markup, sign_in_over_http
from tests.support.live import Processes
from tests.support.repos import git

HOSTILE = ["<script>alert(1)</script>", 'x"onmouseover=alert(1)', "evil\u202etxt.exe"]


def test_hostile_branch_names_are_escaped_on_every_page(live: Processes, forge: Any, repo_name: str) -> None:
    for name in HOSTILE:
        git(forge.work, "push", "origin", f"main:refs/heads/{name}")
    git(forge.work, "commit", "--allow-empty", "-m", "<img src=x onerror=alert(1)> \u202e subject")
    git(forge.work, "push", "origin", "main")
    api = live.api
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url})
    api.wait_repo(repo_name)
    api.run(f"/api/v1/repos/{repo_name}/fetch")
    api.ok("POST", f"/api/v1/repos/{repo_name}/branches", {"name": "<script>alert(1)</script>",
                                                            "start_point": "main", "track": False})
    remote = next(b for b in api.ok("GET", f"/api/v1/repos/{repo_name}/branches")["remote_branches"]
                  if b["name"] == HOSTILE[0])
    assert remote  # the hostile names reached the recorded refs
    # A pull's result shown on the repo's page (its dry run: what a pull would do), hostile names and all.
    api.ok("PUT", f"/api/v1/repos/{repo_name}/branches/{quote(HOSTILE[0], safe='')}/upstream",
           {"remote": "origin", "branch": HOSTILE[1]})
    dry_run = api.run(f"/api/v1/repos/{repo_name}/pull", {"branch": HOSTILE[0], "dry_run": True})
    assert dry_run["state"] == "done", dry_run

    http, _ = sign_in_over_http(api.base)
    pages = ["/dashboard/", f"/dashboard/?q={quote(HOSTILE[1])}", f"/dashboard/repos/{repo_name}",
             "/dashboard/jobs", f"/dashboard/jobs?repo={repo_name}", f"/dashboard/jobs/table?repo={repo_name}",
             "/dashboard/tokens", "/dashboard/forges", "/dashboard/deliveries",
             f"/dashboard/repos/{quote(HOSTILE[0])}", f"/dashboard/repos/{repo_name}?job={dry_run['id']}"]
    shown = ""
    for path in pages:
        answer = http.get(api.base + path, timeout=30)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        page = answer.text
        assert "<script>alert" not in page and '"onmouseover' not in page and "\u202e" not in page, path
        markup = Markup(page)
        assert all(markup.scripts) and not markup.inline_script and not markup.handlers, path
        shown += page
    repo_page = http.get(f"{api.base}/dashboard/repos/{repo_name}", timeout=30).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in repo_page  # shown, as text
    assert "x&#34;onmouseover=alert(1)" in repo_page
    assert "evil[U+202E]txt.exe" in repo_page  # the direction control is named, not obeyed
