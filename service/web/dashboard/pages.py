"""Sign-in and sign-out, and the repos overview (summary, search, sort, Fetch now, add a repo)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.domain.records import Json, Remote, Repo
from service.domain.types import RepoState, Scope
from service.web.api_ops import queue_fetch
from service.web.api_repos import STRATEGIES, create_repo_from
from service.web.context import services
from service.web.dashboard import session
from service.web.dashboard.web import act, ago, bp, form, render, when
from service.web.errors import ApiError

SHOWS = ("all", "cloning", "ready", "behind", "failing")
SORTS = {"name": lambda r: r.name.lower(), "state": lambda r: (r.state, r.name.lower()),
         "behind": lambda r: (-r.behind, r.name.lower()),
         "fetched": lambda r: (r.repo.last_fetch_at is None,  # the latest fetched first, never fetched last
                               -r.repo.last_fetch_at.timestamp() if r.repo.last_fetch_at else 0, r.name.lower())}


@dataclass(frozen=True, slots=True)
class RemoteTimes:
    """How fetching a remote goes, as an overview row says it: a mark and a few words, the full
    times and the last error on hover. Made here, not in the template: 1,000 rows of remotes
    each writing a dozen values cost the overview a third of its time."""

    name: str
    mark: str  # "✓" fetched, "✗" failing, "" never tried
    words: str  # "2 min ago", "failing 3 times, last success 2 h ago", "not fetched yet"
    title: str


def remote_times(remote: Remote) -> RemoteTimes:
    title = (f"{remote.name}: last attempt {when(remote.last_attempt_at) or 'never'}; "
             f"last success {when(remote.last_success_at) or 'never'}")
    if remote.last_error_code:
        failures = f"{remote.fetch_failures} failed in a row" if remote.fetch_failures > 1 else "the last failed"
        return RemoteTimes(remote.name, "✗", f"failing {_times(remote.fetch_failures)}, last success "
                           f"{ago(remote.last_success_at)}", f"{title}; {failures}: {remote.last_error_code}: "
                           f"{remote.last_error_message or ''}")
    if remote.last_attempt_at is None:
        return RemoteTimes(remote.name, "", "not fetched yet", title)
    return RemoteTimes(remote.name, "✓", ago(remote.last_success_at), title)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


@dataclass(frozen=True)
class Row:
    """A repo as the overview shows it."""

    repo: Repo
    provider: str
    strategy: str
    interval: int
    behind: int  # branches behind their upstream
    remotes: list[RemoteTimes]

    @property
    def name(self) -> str:
        return self.repo.name

    @property
    def state(self) -> str:
        return self.repo.state

    def shown_in(self, show: str) -> bool:
        return {"all": True, "cloning": self.state == RepoState.CLONING, "ready": self.state == RepoState.READY,
                "behind": self.behind > 0, "failing": self.state == RepoState.ERROR}[show]


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("dashboard.overview"), 302)


@bp.get("/dashboard/sign-in")
def sign_in_form() -> ResponseReturnValue:
    """The form. The link `gitferry serve` prints on a first run carries its token after `#`, which
    no request sends (so no log or Referer holds it): the page's script posts the form with it.
    A token in the query signs nobody in, so no link can sign a person in as someone else."""
    return _sign_in_page(None)


@bp.post("/dashboard/sign-in")
def sign_in() -> ResponseReturnValue:
    if not session.sign_in_csrf_ok(request):
        return _sign_in_page("The sign-in form is out of date; try again.", 403)
    return _signed_in(request.form.get("token", ""))


def _signed_in(token: str) -> ResponseReturnValue:
    try:
        token_hash = session.check_token(request, token)
    except ApiError as exc:
        return _sign_in_page(exc.message, exc.status)
    response = make_response(redirect(url_for("dashboard.overview"), 303))
    session.start(response, request, token_hash)
    return response


def _sign_in_page(message: str | None, status: int = 200) -> ResponseReturnValue:
    csrf = session.sign_in_csrf(request)
    notice = (message, True) if message else None
    response = make_response(render_template("dashboard/sign_in.html", csrf=csrf, notice=notice, me=None), status)
    session.set_sign_in_csrf(response, request, csrf)
    return response


@bp.post("/dashboard/sign-out")
def sign_out() -> ResponseReturnValue:
    response = make_response(redirect(url_for("dashboard.sign_in_form"), 303))
    session.end(response)
    return response


def rows() -> list[Row]:
    svc = services()
    provider = svc.provider()
    refs = svc.store.repos.all_refs()
    repos = svc.store.repos.all()
    remotes = svc.store.repos.remotes_of([repo.id for repo in repos])  # one query for every row
    return [Row(repo, provider(repo.url), repo.pull_strategy or svc.settings.pull_strategy,
                svc.settings.fetch_interval if repo.fetch_interval is None else repo.fetch_interval,
                _behind(refs.get(repo.id)), [remote_times(m) for m in remotes.get(repo.id, [])])
            for repo in repos]


def _behind(snapshot: Json | None) -> int:
    return sum(1 for b in (snapshot or {}).get("branches", []) if (b.get("behind") or 0) > 0)


@bp.get("/dashboard/")
def overview(notice: tuple[str, bool] | None = None) -> ResponseReturnValue:
    show = request.args.get("show", "all")
    show = show if show in SHOWS else "all"
    sort = request.args.get("sort", "name")
    sort = sort if sort in SORTS else "name"
    query = request.args.get("q", "").strip()[:200]
    everything = rows()
    counts = {s: sum(1 for r in everything if r.shown_in(s)) for s in SHOWS}
    shown = sorted((r for r in everything if r.shown_in(show) and query.lower() in r.name.lower()), key=SORTS[sort])
    values = {"rows": shown, "counts": counts, "show": show, "sort": sort, "q": query, "strategies": STRATEGIES}
    if request.headers.get("HX-Target") == "repos":
        return render("_repos_table.html", **values)
    if notice is not None:
        values["notice"] = notice
    return render("overview.html", **values)


def _overview_again(message: str) -> ResponseReturnValue:
    return overview((message, True))


@bp.post("/dashboard/repos")
def add_repo() -> ResponseReturnValue:
    def done() -> str:
        fields = form()
        body: Json = {"name": fields.get("name", ""), "url": fields.get("url", "")}
        if fields.get("pull_strategy"):
            body["pull_strategy"] = fields["pull_strategy"]
        if fields.get("fetch_interval"):
            body["fetch_interval"] = _whole(fields["fetch_interval"], "auto-fetch interval")
        repo, job = create_repo_from(body)
        return f"Added {repo.name}; cloning it (job {job.id})."

    return act(Scope.ADMIN, done, url_for("dashboard.overview"), _overview_again)


def _whole(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ApiError(422, "invalid", f"the {what} must be a whole number of seconds")
    return int(text)


@bp.post("/dashboard/fetch")
def fetch_now() -> ResponseReturnValue:
    """Fetch now: every remote of a repo, or the one named (from the overview or a repo page)."""
    fields = form()
    name = fields.get("repo", "")
    back = request.form.get("back") == "repo" and name

    def done() -> str:
        body: Json = {"remote": fields["remote"]} if fields.get("remote") else {}
        job = queue_fetch(name, body, None)
        return f"Fetching {fields.get('remote') or 'every remote'} of {name} (job {job.id})."

    target = url_for("dashboard.repo", name=name) if back else url_for("dashboard.overview")
    return act(Scope.WRITE, done, target, _overview_again)
