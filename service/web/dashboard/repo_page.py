"""A repo's page: remotes, local and remote branches, the toolbar (fetch, pull, push), upstreams, rules."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from flask import request, url_for
from flask.typing import ResponseReturnValue

from service.domain.records import Job, Json, Remote, Repo
from service.domain.types import JobKind, Scope
from service.forges.registry import BY_KIND
from service.web.answers import find_repo
from service.web.api_backups import delete_backup_of, kept_backups, restore_params
from service.web.api_branches import set_upstream_of, settled_refs, unset_upstream_of
from service.web.api_commits import compared
from service.web.api_ops import pull_params, push_params
from service.web.api_repos import STRATEGIES, add_remote_from, change_repo, remove_remote
from service.web.context import services
from service.web.dashboard.dry_runs import last_dry_run
from service.web.dashboard.jobs import job_values, shown_job
from service.web.dashboard.pushes import pushes_shown
from service.web.dashboard.web import act, bp, form, render
from service.web.errors import ApiError
from service.web.forks import forks_of, origin_forge, remote_name_for

DRY_RUN_WAIT = 10.0  # seconds a dry run's form waits for its result


@dataclass(frozen=True)
class RemoteRow:
    remote: Remote
    provider: str


def remote_rows(repo: Repo) -> list[RemoteRow]:
    """Each remote with its provider; its last attempt, success and error are the remote's own record."""
    provider = services().provider()
    return [RemoteRow(remote, provider(remote.url)) for remote in services().store.repos.remotes(repo.id)]


def fork_source(repo: Repo) -> str | None:
    """Whose fork list "+ Add a remote" offers: the provider of origin's forge (no call to it)."""
    try:
        return BY_KIND[origin_forge(repo)[0].kind].provider
    except ApiError:  # on no forge: the list, when opened, says why
        return None


def grouped(remote_branches: list[Json]) -> dict[str, list[Json]]:
    groups: dict[str, list[Json]] = {}
    for branch in remote_branches:
        groups.setdefault(branch["remote"], []).append(branch)
    return groups


def tips_of(refs: Json) -> dict[tuple[str, str], str]:
    return {(b["remote"], b["name"]): b["sha"] for b in refs.get("remote_branches", [])}


@bp.get("/dashboard/repos/<path:name>")
def repo(name: str, notice: tuple[str, bool] | None = None) -> ResponseReturnValue:
    found = find_repo(name)
    svc = services()
    # The jobs before the branches: a job shown done has its branches shown moved, and one shown queued
    # or running reloads the page when it ends (read the other way round, a job that ended in between
    # showed as done next to branches from before it, and nothing reloaded them).
    jobs = job_values(found.name, 10)
    refs = settled_refs(found.id)  # as a listing after a job does: with what the job did
    rules = svc.store.rules.of_repo(found.id)
    backups = kept_backups(found)
    values: Json = {
        "repo": found, "remotes": remote_rows(found), "branches": linked(refs.get("branches", [])),
        "remote_branches": grouped(refs.get("remote_branches", [])), "pending": bool(refs.get("pending")),
        "rules": rules, "strategies": STRATEGIES, "backups": backups,
        "pushes": pushes_shown(found, backups, tips_of(refs)), "dry_run": last_dry_run(found),
        "strategy": found.pull_strategy or svc.settings.pull_strategy,
        "interval": svc.settings.fetch_interval if found.fetch_interval is None else found.fetch_interval,
        "provider": svc.provider()(found.url), "fork_source": fork_source(found), **jobs,
    }
    values["shown_job"] = shown = shown_job(found, request.args.get("job"))
    values["picked"] = shown.params if shown and shown.kind == JobKind.PULL else {}  # the Pull form as it was sent
    if notice is not None:
        values["notice"] = notice
    return render("repo.html", **values)


def linked(branches: list[Json]) -> list[Json]:
    """The branches with their names quoted for the links of their rows (once, not by the template) and a
    number for their fields' ids."""
    return [{**b, "n": n, "quoted": quote(b["name"], safe=""),
             "upstream_quoted": quote(b.get("upstream") or "", safe="")} for n, b in enumerate(branches, 1)]


@bp.get("/dashboard/branch-menu/<path:name>")
def branch_menu(name: str) -> ResponseReturnValue:
    """A branch's Push… or Upstream… menu (`menu`), asked for when the menu opens."""
    found = find_repo(name)
    wanted, menu = request.args.get("branch", ""), request.args.get("menu", "push")
    branch = next((b for b in settled_refs(found.id).get("branches", []) if b["name"] == wanted), None)
    if branch is None or menu not in ("push", "upstream"):
        raise ApiError(404, "branch_not_found", f"no local branch named {wanted[:200]!r}; reload the page")
    n = request.args.get("n", "")
    return render("_branch_menu.html", repo=found, b=branch, menu=menu, n=n if n.isdigit() else "0",
                  remotes=remote_rows(found) if menu == "push" and not branch.get("upstream") else [])


@bp.get("/dashboard/repos/<path:name>/compare")
def compare(name: str) -> ResponseReturnValue:
    """The commits behind a branch's ahead/behind counts (base...head), as the API's compare lists them."""
    base, head = request.args.get("base", ""), request.args.get("head", "")
    return render("_compare.html", compare=compared(find_repo(name), base, head))


@bp.get("/dashboard/repos/<path:name>/forks")
def forks(name: str) -> ResponseReturnValue:
    """The forks the origin's forge lists, each with an "Add as remote" form (loaded when "+ Add a remote" opens)."""
    found = find_repo(name)
    forge, listed = forks_of(found)
    return render("_forks.html", repo=found, forge=BY_KIND[forge.kind].provider, forks=listed,
                  names={f.full_name: remote_name_for(f.owner or f.full_name.split("/")[0]) for f in listed})


def _queued(job: Job, what: str) -> str:
    return f"{what} (job {job.id})."


@bp.post("/dashboard/repos/<path:name>/pull")
def pull(name: str) -> ResponseReturnValue:
    """Pull a branch with the strategy picked, or (dry_run) work out what the pull would do; back
    to the repo's page showing the job, whose result shows there once it ended."""
    queued: list[Job] = []

    def done() -> str:
        found = find_repo(name)
        fields = form()
        body: Json = {k: fields[k] for k in ("branch", "strategy") if k in fields}
        if fields.get("dry_run") == "yes":
            body["dry_run"] = True
        params = pull_params(found, body)
        # A dry run changes nothing and ends soon: wait for it, as the API's ?wait does.
        job = services().jobs.add(found, JobKind.PULL, params, wait=DRY_RUN_WAIT if "dry_run" in params else None)
        queued.append(job)
        what = "Dry run of pulling" if "dry_run" in params else "Pulling"
        return _queued(job, f"{what} {params['branch']} ({params['strategy']})")

    return act(Scope.WRITE, done, lambda: url_for("dashboard.repo", name=name, job=queued[0].id),
               lambda message: repo(name, (message, True)))


@bp.post("/dashboard/repos/<path:name>/push")
def push(name: str) -> ResponseReturnValue:
    def done() -> str:
        found = find_repo(name)
        params = push_params(found, push_body(form()))
        job = services().jobs.add(found, JobKind.PUSH, params)
        where = f" to {params['remote']}/{params['remote_branch'] or params['branch']}" if params["remote"] else ""
        return _queued(job, f"{'Force pushing' if params['force'] else 'Pushing'} {params['branch']}{where}")

    return _act(name, Scope.WRITE, done)


def push_body(fields: dict[str, str]) -> Json:
    """A push form's fields as the API's push body; `to` (remote/branch, as the remote branch
    lists name it) stands for remote and remote_branch."""
    body: Json = {k: fields[k] for k in ("branch", "remote", "remote_branch", "expect") if k in fields}
    if "to" in fields:
        body["remote"], _, body["remote_branch"] = fields["to"].partition("/")
        if not body["remote_branch"]:
            raise ApiError(422, "invalid", "choose the remote branch to push to, as remote/branch")
    if "set_upstream" in fields:
        body["set_upstream"] = fields["set_upstream"] == "yes"
    if fields.get("force") == "yes":  # a force names the remote tip it overwrites (expect)
        body["force"] = True
    return body


@bp.post("/dashboard/repos/<path:name>/upstream")
def upstream(name: str) -> ResponseReturnValue:
    """Set a branch's upstream (`upstream` is remote/branch), or unset it (`unset`)."""
    def done() -> str:
        found = find_repo(name)
        fields = form()
        branch = fields.get("branch", "")
        if fields.get("unset"):
            job = unset_upstream_of(found, branch)
            return f"{branch} has no upstream now." if job.finished else _queued(job, "The clone is busy: queued")
        remote, _, remote_branch = fields.get("upstream", "").partition("/")
        if not remote_branch:
            raise ApiError(422, "invalid", "choose the remote branch to track")
        job = set_upstream_of(found, branch, {"remote": remote, "branch": remote_branch})
        return f"{branch} now tracks {remote}/{remote_branch}." if job.finished else \
            _queued(job, "The clone is busy: queued")

    return _act(name, Scope.WRITE, done)


@bp.post("/dashboard/repos/<path:name>/remotes")
def add_remote(name: str) -> ResponseReturnValue:
    def done() -> str:
        fields = form()
        body: Json = {"name": fields.get("name", ""), "url": fields.get("url", "")}
        if "fork" in fields:  # picked from the forge's fork list: the URL comes from the forge, as in the API
            body = {"fork": fields["fork"], **({"name": fields["name"]} if "name" in fields else {})}
        remote, job = add_remote_from(find_repo(name), body)
        return _queued(job, f"Added remote {remote.name}; fetching it")

    return _act(name, Scope.ADMIN, done)


@bp.post("/dashboard/repos/<path:name>/remotes/remove")
def delete_remote(name: str) -> ResponseReturnValue:
    def done() -> str:
        remote = form().get("remote", "")
        job = remove_remote(find_repo(name), remote)
        return _queued(job, f"Removed remote {remote}; the clone drops it")

    return _act(name, Scope.ADMIN, done)


@bp.post("/dashboard/repos/<path:name>/settings")
def settings(name: str) -> ResponseReturnValue:
    """The repo's default pull strategy (from the Pull dropdown)."""
    def done() -> str:
        fields = form()
        strategy = fields.get("pull_strategy") or fields.get("strategy", "")
        change_repo(find_repo(name), {"pull_strategy": strategy})
        return f"Pulls of {name} now default to {strategy}."

    return _act(name, Scope.ADMIN, done)


@bp.post("/dashboard/repos/<path:name>/backups/<backup_id>/restore")
def restore(name: str, backup_id: str) -> ResponseReturnValue:
    def done() -> str:
        found = find_repo(name)
        params = restore_params(found, backup_id, {})
        job = services().jobs.add(found, JobKind.RESTORE, params)
        return _queued(job, f"Restoring {params['ref']} to {params['sha'][:10]}")

    return _act(name, Scope.ADMIN, done)


@bp.post("/dashboard/repos/<path:name>/backups/<backup_id>/delete")
def delete_backup(name: str, backup_id: str) -> ResponseReturnValue:
    def done() -> str:
        return f"Deleted the backup {delete_backup_of(find_repo(name), backup_id).ref}."

    return _act(name, Scope.ADMIN, done)


def _act(name: str, needed: Scope, done: object) -> ResponseReturnValue:
    back = url_for("dashboard.repo", name=name)
    if request.form.get("back") == "jobs":
        back = url_for("dashboard.jobs", repo=name)
    return act(needed, done, back, lambda message: repo(name, (message, True)))  # type: ignore[arg-type]
