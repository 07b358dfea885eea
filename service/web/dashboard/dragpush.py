"""A push's dry run from the dashboard: the job the API's `"dry_run": true` queues, and what it found.

The drag-and-drop push dialog (static/dragpush.js) asks for one before its Push button is pressed;
the push forms' Dry run buttons ask for one and the repo page shows it (templates _push_preview.html).
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from service.domain.records import Job
from service.domain.types import JobKind, Scope
from service.web.answers import find_repo
from service.web.api_ops import push_params
from service.web.context import services
from service.web.dashboard.dry_runs import DryRun, is_dry_run
from service.web.dashboard.repo_page import _act, push_body
from service.web.dashboard.web import NEEDS, bp, can, form, page_error, render
from service.web.errors import ApiError

PREVIEW_WAIT = 5.0  # seconds the dialog's request waits for the dry run to end; then it asks again


def queue_dry_run(name: str, wait: float | None = None) -> Job:
    """The push form's fields as a dry run of that push, queued (nothing queued on bad input)."""
    found = find_repo(name)
    params = push_params(found, {**push_body(form()), "dry_run": True})
    return services().jobs.add(found, JobKind.PUSH, params, wait=wait)


@bp.post("/dashboard/repos/<path:name>/push/dry-run")
def push_dry_run(name: str) -> ResponseReturnValue:
    """htmx (the dialog): the dry run's preview, once it ended or while it runs. A form: back to the
    repo page, which shows the dry run (and follows it until it ends)."""
    if not request.headers.get("HX-Request"):
        def done() -> str:
            job = queue_dry_run(name)
            return f"Dry run of pushing {job.params['branch']}: nothing is pushed (job {job.id})."

        return _act(name, Scope.WRITE, done)
    if not can(Scope.WRITE.value):
        return page_error(403, f"This {NEEDS[Scope.WRITE]}.")
    try:
        job = queue_dry_run(name, PREVIEW_WAIT)
    except ApiError as exc:
        return page_error(exc.status, exc.message)
    return render("_push_preview.html", preview=DryRun(job), repo_name=name)


@bp.get("/dashboard/repos/<path:name>/push/dry-run/<job_id>")
def push_dry_run_result(name: str, job_id: str) -> ResponseReturnValue:
    """A dry run's preview as it is now (asked again while it runs)."""
    found = find_repo(name)
    job = services().store.jobs.get(int(job_id)) if job_id.isascii() and job_id.isdigit() and len(job_id) < 19 \
        else None
    if job is None or job.repo_id != found.id or not is_dry_run(job):
        return page_error(404, f"no dry run {job_id[:40]!r} of {name}")
    return render("_push_preview.html", preview=DryRun(job), repo_name=name)
