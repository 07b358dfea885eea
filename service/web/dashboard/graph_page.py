"""The repo page's commit graph: loaded by htmx once the page is shown, drawn on the server as SVG.

The commits and the refs at each come from the worker that holds the clone, as the API's reads do
(`api_commits.read`, read kind `graph`: one `git log --topo-order` of every branch, remote branch
and tag); the lanes are laid out here (dashboard/graph.py). More commits are the same graph asked
again with a larger limit, up to CAP; the last few graphs are remembered while the refs stay the same.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import request
from flask.typing import ResponseReturnValue

from service.domain.records import Json, Repo
from service.domain.types import RepoState
from service.web.answers import find_repo
from service.web.api_branches import settled_refs
from service.web.api_commits import read
from service.web.context import services
from service.web.dashboard.graph import BRANCH, STRAIGHT, Edge, Graph, lay_out
from service.web.dashboard.web import bp, render
from service.web.errors import ApiError

STEP = 200  # commits shown at first, and added each time the bottom of the graph is reached
CAP = 2000
ROW, LANE, PAD = 24, 14, 10  # pixels: a row's height, a lane's width, the margin left of lane 0
COLOURS = 8  # lane colours in dashboard.css (.lane-0 ... .lane-7)
REMEMBERED = 16  # graphs kept by each web process
_remembered: OrderedDict[tuple[int, str, int], Json] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Line:
    d: str  # the SVG path
    colour: int


@dataclass(frozen=True)
class Label:
    kind: str  # branch, remote or tag (its CSS class)
    text: str
    remote: str | None = None  # whose provider's icon a remote branch's label carries


@dataclass(frozen=True)
class DrawnRow:
    """A row as the template shows it: plain fields, so that 2,000 rows render quickly."""

    sha: str
    subject: str
    author: str
    date: str
    local_only: bool
    behind: bool
    labels: list[Label]
    x: int
    y: int
    colour: int
    lines: list[Line]


@dataclass(frozen=True)
class Drawing:
    rows: list[DrawnRow]
    width: int
    height: int


def drawn(graph: Graph) -> Drawing:
    """Where each dot and line goes: lane l at x = PAD + l * LANE, row i at y = ROW / 2 + i * ROW;
    a line from one row to the next goes straight down, or bends across in an S."""
    rows = []
    for i, row in enumerate(graph.rows):
        y, commit = ROW // 2 + i * ROW, row.commit
        rows.append(DrawnRow(commit["sha"], commit["subject"], commit["author"]["name"], commit["author"]["date"],
                             row.local_only, row.behind, labels(commit["refs"]), _x(row.lane), y,
                             row.lane % COLOURS, [_line(edge, y) for edge in row.edges]))
    return Drawing(rows, 2 * PAD + max(graph.lanes - 1, 0) * LANE, len(graph.rows) * ROW)


def labels(refs: list[Json]) -> list[Label]:
    """Local branches, then remote branches (`remote/branch`), then tags (each once, whichever
    remotes it came from)."""
    branches = [Label("branch", r["name"]) for r in refs if r["kind"] == "branch"]
    remote = [Label("remote", f"{r['remote']}/{r['name']}", r["remote"]) for r in refs if r["kind"] == "remote_branch"]
    tags = [Label("tag", name) for name in dict.fromkeys(r["name"] for r in refs if r["kind"] == "tag")]
    return branches + remote + tags


def _x(lane: int) -> int:
    return PAD + lane * LANE


def _line(edge: Edge, y: int) -> Line:
    x1, x2, y2 = _x(edge.start), _x(edge.end), y + ROW
    # A branch keeps the colour of the lane it leaves; a merge and a lane going on, the lane they reach.
    colour = (edge.start if edge.kind == BRANCH else edge.end) % COLOURS
    if edge.kind == STRAIGHT and x1 == x2:
        return Line(f"M{x1} {y}V{y2}", colour)
    middle = y + ROW // 2
    return Line(f"M{x1} {y}C{x1} {middle} {x2} {middle} {x2} {y2}", colour)


def refs_key(snapshot: Json) -> str | None:
    """What the graph's answer depends on, as a sha: the refs as last recorded (None while they are
    being recorded)."""
    if snapshot.get("pending"):
        return None
    refs = [f"{b['name']} {b['sha']} {b.get('upstream')}" for b in snapshot.get("branches", [])]
    refs += [f"{r['remote']}/{r['name']} {r['sha']}" for r in snapshot.get("remote_branches", [])]
    refs += [f"{t.get('remote')}/{t['name']} {t['sha']}" for t in snapshot.get("tags", [])]
    return hashlib.sha1("\n".join(refs).encode()).hexdigest()


def limit_arg() -> int:
    raw = request.args.get("limit", str(STEP))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= CAP:
        raise ApiError(422, "invalid", f"limit must be a whole number from 1 to {CAP}")
    return int(raw)


# Not under /dashboard/repos/<name>/: a repo named "acme/graph" keeps its own page.
def graph_answer(repo: Repo, snapshot: Json, limit: int) -> Json:
    """The worker's graph of the repo, remembered while its recorded refs stay the same: the same
    refs, the same graph. Answers are large (up to 2,000 commits with their refs), so only the
    last REMEMBERED are kept (the `order` parameter keeps `read` from remembering them too)."""
    refs = refs_key(snapshot)
    key = (repo.id, refs or "", limit)
    with _lock:
        found = _remembered.get(key) if refs else None
        if found is not None:
            _remembered.move_to_end(key)
            return found
    answer = read(repo, "graph", {"limit": limit, "order": "topo"})
    if refs:
        with _lock:
            _remembered[key] = answer
            while len(_remembered) > REMEMBERED:
                _remembered.popitem(last=False)
    return answer


@bp.get("/dashboard/graph/<path:name>")
def graph(name: str) -> ResponseReturnValue:
    found = find_repo(name)
    limit = limit_arg()
    if found.state != RepoState.READY:
        return render("_graph.html", repo=found, drawing=None)
    snapshot = settled_refs(found.id)
    answer = graph_answer(found, snapshot, limit)
    upstreams = {b["name"]: b["upstream"] for b in snapshot.get("branches", []) if b.get("upstream")}
    provider = services().provider()
    providers = {remote.name: provider(remote.url) for remote in services().store.repos.remotes(found.id)}
    return render("_graph.html", repo=found, drawing=drawn(lay_out(answer["commits"], upstreams)),
                  providers=providers, limit=limit, more=answer["more"] and limit < CAP,
                  next_limit=min(limit + STEP, CAP), row_height=ROW)
