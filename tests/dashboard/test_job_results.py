"""A finished job opens to its result in words, by kind (issue 16): a pull's outcome, strategy and
conflicting paths; the refs a fetch moved, old..new, per remote; a push's rejection, its reason and
what a force would discard; an error's code and message. Results as the workers record them."""

from __future__ import annotations

from typing import Any

from service.domain.records import Job, JobEnd, Repo
from tests.dashboard.conftest import sign_in

A, B, C = "a" * 40, "b" * 40, "c" * 40


def ended(app: Any, repo: Repo, kind: str, params: dict[str, Any], result: Any, error: tuple[str, str] | None = None,
          ) -> Job:
    store = app.extensions["gitferry"].store
    job, _ = store.jobs.add(repo, kind, "api", params)
    running = store.jobs.start(job.id, 60.0)
    assert running is not None
    end = JobEnd(running.job, repo, result, *(error or (None, None)))
    assert store.jobs.end(end) is not None
    found: Job | None = store.jobs.get(job.id)
    assert found is not None and found.finished
    return found


def result_of(page: str, job: Job) -> str:
    """The result shown for the job, its white space collapsed."""
    shown = page.split(f'<details class="result" data-job="{job.id}">')[1].split('<details class="raw">')[0]
    return " ".join(shown.split())


def test_each_kind_of_result_reads_as_what_happened(app: Any, client: Any) -> None:
    repo = app.extensions["gitferry"].store.repos.create(
        "acme/results", "https://example.com/acme/results.git", pull_strategy=None, fetch_interval=None,
        protected_branches=[])
    conflict = ended(app, repo, "pull", {"branch": "main", "strategy": "rebase"}, {
        "outcome": "conflict", "before": A, "after": A, "conflicts": ["docs/<b>notes</b>.md", "src/app.py"],
        "conflict_commit": {"sha": B, "subject": "Change the <i>app</i>"}})
    fetch = ended(app, repo, "fetch", {"remote": None}, {"remotes": {
        "origin": {"updated": [{"ref": "refs/heads/main", "old": A, "new": B},
                               {"ref": "refs/heads/feature", "old": None, "new": C}],
                   "deleted": [{"ref": "refs/heads/old", "old": A}], "default_branch": "main"},
        "upstream": {"updated": [], "deleted": [], "default_branch": "main"}}})
    rejected = ended(app, repo, "push", {"branch": "main", "remote": "origin"}, {
        "outcome": "rejected", "remote": "origin", "remote_branch": "main", "before": B, "after": A,
        "reason": "non-fast-forward", "force_available": True,
        "discarded": [{"sha": C, "subject": "Their fix", "author": {"name": "Ann"}}]})
    failed = ended(app, repo, "fetch", {"remote": "origin"}, None, ("auth_failed", "the forge refused the token"))
    dry = ended(app, repo, "pull", {"branch": "main", "strategy": "ff-or-merge", "dry_run": True}, {
        "outcome": "merged", "before": A, "after": A, "conflicts": [], "dry_run": True, "incoming_count": 3,
        "incoming": [{"sha": B, "subject": "Upstream work"}, {"sha": C, "subject": "More upstream work"}]})
    sign_in(client)
    page = client.get("/dashboard/jobs/table").text

    assert "<summary>conflict: nothing changed</summary>" in page
    assert "<summary>rejected: non-fast-forward</summary>" in page
    shown = result_of(page, conflict)
    assert "Pulled <bdi class=\"ref\">main</bdi> with <strong>rebase</strong>: stopped on a conflict" in shown
    assert "<li><bdi class=\"ref\">docs/&lt;b&gt;notes&lt;/b&gt;.md</bdi></li>" in shown and "src/app.py" in shown
    assert "could not be applied" in shown and "Change the &lt;i&gt;app&lt;/i&gt;" in shown

    shown = result_of(page, fetch)
    assert f'refs/heads/main</bdi> <code class="sha" title="{A}">{A[:10]}</code>..<code class="sha" ' \
           f'title="{B}">{B[:10]}</code>' in shown
    assert "refs/heads/feature</bdi> new at" in shown and "refs/heads/old</bdi> removed (was" in shown
    assert "<strong><bdi>upstream</bdi></strong>: nothing new." in shown

    shown = result_of(page, rejected)
    assert "origin/main</bdi>: rejected, because the remote has commits the local branch does not" in shown
    assert "A force push would discard 1 commit of the remote's:" in shown and "Their fix" in shown

    shown = result_of(page, failed)
    assert "<strong>auth_failed</strong>: the forge refused the token" in shown

    shown = result_of(page, dry)
    assert "<summary>dry run: would merge</summary>" in page
    assert "<strong>Dry run</strong>, nothing changed" in shown and "would make a merge commit" in shown
    assert "3 commits would arrive:" in shown and "Upstream work" in shown and "and 1 more" in shown
    assert page.count('<details class="raw"><summary>Raw result</summary>') == 5


def test_a_repo_page_shows_the_job_its_form_started_and_no_other_repos(app: Any, client: Any) -> None:
    store = app.extensions["gitferry"].store
    repo = store.repos.create("acme/shown", "https://example.com/acme/shown.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])
    other = store.repos.create("acme/other", "https://example.com/acme/other.git", pull_strategy=None,
                               fetch_interval=None, protected_branches=[])
    diverged = ended(app, repo, "pull", {"branch": "main", "strategy": "ff-only"},
                     {"outcome": "diverged", "before": A, "after": A, "conflicts": []})
    theirs = ended(app, other, "pull", {"branch": "main", "strategy": "ff-only"},
                   {"outcome": "diverged", "before": A, "after": A, "conflicts": []})
    sign_in(client)
    page = client.get(f"/dashboard/repos/acme/shown?job={diverged.id}").text
    card = " ".join(page.split('<section class="card job-shown"')[1].split("</section>")[0].split())
    assert "refused: it has diverged from its upstream and ff-only does not merge or rebase; nothing changed" in card
    for bad in (str(theirs.id), "x1", "99999999"):
        refused = client.get(f"/dashboard/repos/acme/shown?job={bad}")
        assert refused.status_code == 404 and "acme/shown has no job" in refused.text
