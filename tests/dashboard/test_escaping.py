"""Attacker-controlled names (branches pushed to a forge) through every page: escaped, never run."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from tests.dashboard.conftest import Markup, sign_in_over_http
from tests.hooks import signing
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

    # A forged webhook delivery names itself in headers the deliveries page shows.
    forged, headers = signing.github(signing.github_push(forge.url), "a-guess", event=HOSTILE[1], delivery=HOSTILE[0])
    assert requests.post(f"{api.base}/hooks/github", data=forged, headers=headers, timeout=30).status_code == 401
    http, _ = sign_in_over_http(api.base)
    pages = ["/dashboard/", f"/dashboard/?q={quote(HOSTILE[1])}", f"/dashboard/repos/{repo_name}",
             f"/dashboard/graph/{repo_name}",
             "/dashboard/jobs", f"/dashboard/jobs?repo={repo_name}", f"/dashboard/jobs/table?repo={repo_name}",
             "/dashboard/tokens", "/dashboard/forges", "/dashboard/deliveries",
             f"/dashboard/repos/{quote(HOSTILE[0])}", f"/dashboard/repos/{repo_name}?job={dry_run['id']}",
             *[f"/dashboard/branch-menu/{repo_name}?menu={menu}&n=1&branch={quote(HOSTILE[0], safe='')}"
               for menu in ("push", "upstream")]]
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
    deliveries = http.get(f"{api.base}/dashboard/deliveries?forge=github", timeout=30).text
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in deliveries and "x&#34;onmouseover" in deliveries
    graph = http.get(f"{api.base}/dashboard/graph/{repo_name}", timeout=30).text  # labels and subjects
    assert "<bdi>&lt;script&gt;alert(1)&lt;/script&gt;</bdi>" in graph
    assert "<bdi>origin/evil[U+202E]txt.exe</bdi>" in graph
    assert "&lt;img src=x onerror=alert(1)&gt; [U+202E] subject" in graph

    a_push_dry_run_shows_hostile_names_as_text(api.base, repo_name)


def test_hostile_rule_branches_and_notify_urls_are_escaped_in_the_rules_and_notifications(
        live: Processes, forge: Any, repo_name: str) -> None:
    api = live.api
    api.ok("POST", "/api/v1/repos", {"name": repo_name, "url": forge.url})
    api.wait_repo(repo_name)
    for number, name in enumerate(HOSTILE[:2]):  # a bidi control is no branch name git keeps (422)
        api.ok("POST", f"/api/v1/repos/{repo_name}/rules", {"name": f"r{number}", "remote": "origin", "branch": name,
                                                            "local_branch": f"{name}-copy"}, status=201)
    hostile_url = 'https://hooks.example.com/<script>alert(1)</script>?x="onmouseover=alert(1)'
    api.ok("PATCH", f"/api/v1/repos/{repo_name}", {"notify_url": hostile_url})

    http, _ = sign_in_over_http(api.base)
    page = http.get(f"{api.base}/dashboard/repos/{repo_name}", timeout=30).text
    assert "<script>alert" not in page and '"onmouseover' not in page
    markup = Markup(page)
    assert all(markup.scripts) and not markup.inline_script and not markup.handlers
    rules = page.split('id="rules-h"')[1].split('id="notify-h"')[0]
    # in the rule's sentence, and in its edit form's values
    assert rules.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3 and rules.count("x&#34;onmouseover=alert(1)") >= 3
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;-copy"' in rules
    notify = page.split('id="notify-h"')[1]
    assert "https://hooks.example.com/&lt;script&gt;alert(1)&lt;/script&gt;?x=&#34;onmouseover=alert(1)" in notify


def a_push_dry_run_shows_hostile_names_as_text(base: str, repo_name: str) -> None:
    """A push's dry run of a hostile branch to a hostile remote branch: the dialog's preview and the page's card."""
    http, csrf = sign_in_over_http(base)

    def dry_run(to: str) -> Any:
        return http.post(f"{base}/dashboard/repos/{repo_name}/push/dry-run", timeout=30,
                         headers={"HX-Request": "true"}, data={"csrf": csrf, "branch": HOSTILE[0], "to": to})

    refused = dry_run(f"origin/{HOSTILE[2]}")  # a name that hides what it says is refused, readably
    assert refused.status_code == 422 and "bidirectional" in refused.text and "\u202e" not in refused.text
    preview = dry_run(f"origin/{HOSTILE[1]}")
    assert preview.status_code == 200, preview.text
    repo_page = http.get(f"{base}/dashboard/repos/{repo_name}", timeout=30).text
    assert 'class="card dry-run"' in repo_page and 'data-push-to="origin/x&#34;onmouseover=alert(1)"' in repo_page
    for page in (preview.text, repo_page):
        assert "would" in page and "<script>alert" not in page and '"onmouseover' not in page
        markup = Markup(page)
        assert all(markup.scripts) and not markup.inline_script and not markup.handlers
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "origin/x&#34;onmouseover=alert(1)" in page
