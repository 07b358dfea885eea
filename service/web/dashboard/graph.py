"""The commit graph's lanes, worked out from git's own order (no parent before its children).

Each commit listed gets a lane (a column); the lines between one row and the next are edges from a
lane at this row to a lane at the next: straight on (a lane passing by, or a commit to its first
parent below it), a branch (a commit whose first parent already has a lane: where its branch
left that line) or a merge (a merge commit to its second and further parents). A parent already
given a lane keeps it: two children of one commit join its lane, they never draw two lines to it.

Which refs reach each listed commit is worked out from the listed commits alone: git lists no
parent before all its children, so every path from a ref's tip down to a listed commit is listed
too. A commit is `local_only` when a local branch reaches it and no remote-tracking branch does,
and `behind` when a branch's upstream reaches it and the branch does not (it would come in with a
pull).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STRAIGHT, BRANCH, MERGE = "straight", "branch", "merge"


@dataclass(frozen=True)
class Edge:
    start: int  # lane at this row
    end: int  # lane at the next row
    kind: str  # STRAIGHT, BRANCH or MERGE


@dataclass(frozen=True)
class Row:
    commit: Mapping[str, Any]  # as the worker listed it: sha, parents, subject, author, refs
    lane: int
    edges: tuple[Edge, ...]  # the lines from this row down to the next
    local_only: bool = False
    behind: bool = False


@dataclass(frozen=True)
class Graph:
    rows: list[Row]
    lanes: int  # how many lanes wide the graph is at its widest


def lay_out(commits: Sequence[Mapping[str, Any]], upstreams: Mapping[str, str] | None = None) -> Graph:
    """Rows for `commits` (children before parents, each with `sha`, `parents` and `refs`);
    `upstreams` maps a local branch to its upstream as `remote/branch`."""
    lanes: list[str | None] = []  # what each lane waits for: the sha of the next commit on it
    placed: dict[str, int] = {}  # the same, by sha
    marks = _marks(commits, upstreams or {})
    rows, widest = [], 0
    for commit in commits:
        sha = commit["sha"]
        lane = placed.pop(sha, None)
        if lane is None:  # a tip: no child listed above it
            lane = _free(lanes)
        lanes[lane] = None
        edges = [Edge(j, j, STRAIGHT) for j, waiting in enumerate(lanes) if waiting is not None]
        for index, parent in enumerate(commit["parents"]):
            target = placed.get(parent)
            if target is None:
                target = lane if index == 0 else _free(lanes)
                lanes[target], placed[parent] = parent, target
                kind = STRAIGHT if index == 0 else MERGE
            else:
                kind = BRANCH if index == 0 else MERGE
            edges.append(Edge(lane, target, kind))
        widest = max(widest, len(lanes))
        while lanes and lanes[-1] is None:
            lanes.pop()
        local_only, behind = marks.get(sha, (False, False))
        rows.append(Row(commit, lane, tuple(edges), local_only, behind))
    return Graph(rows, widest)


def _free(lanes: list[str | None]) -> int:
    """The leftmost free lane (a new one on the right when none is)."""
    for j, waiting in enumerate(lanes):
        if waiting is None:
            return j
    lanes.append(None)
    return len(lanes) - 1


def _marks(commits: Sequence[Mapping[str, Any]], upstreams: Mapping[str, str]) -> dict[str, tuple[bool, bool]]:
    """(local_only, behind) of each commit, from which refs reach it. A ref's reach flows from
    child to parent in git's order: bit i of `ours` is "branch i of `pairs` reaches it", of
    `theirs` "its upstream reaches it"."""
    pairs = {branch: i for i, branch in enumerate(upstreams)}
    upstream_of: dict[str, int] = {}
    for branch, upstream in upstreams.items():
        upstream_of[upstream] = upstream_of.get(upstream, 0) | 1 << pairs[branch]
    reach: dict[str, list[int]] = {}  # sha: [local, remote, ours, theirs]
    found = {}
    for commit in commits:
        local, remote, ours, theirs = reach.pop(commit["sha"], [0, 0, 0, 0])
        for ref in commit["refs"]:
            if ref["kind"] == "branch":
                local = 1
                ours |= 1 << pairs[ref["name"]] if ref["name"] in pairs else 0
            elif ref["kind"] == "remote_branch":
                remote = 1
                theirs |= upstream_of.get(f"{ref['remote']}/{ref['name']}", 0)
        found[commit["sha"]] = (bool(local and not remote), bool(theirs & ~ours))
        for parent in commit["parents"]:
            into = reach.setdefault(parent, [0, 0, 0, 0])
            into[0] |= local
            into[1] |= remote
            into[2] |= ours
            into[3] |= theirs
    return found
