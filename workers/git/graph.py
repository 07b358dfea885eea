"""The commit graph's history: the newest commits of every branch, remote branch and tag, in one
`git log` that lists no parent before its children (`--topo-order`, as Gitea's graph asks git for),
each with its parents and the refs that point at it.

Because no parent comes before its children, the first N commits listed hold every path from a
ref's tip down to any of them: which refs reach a listed commit can be worked out from the listed
commits alone (service/web/dashboard/graph.py does, for "local only" and "behind upstream").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Author, Record
from .refs import HEADS, REMOTE_TAGS, REMOTES
from .runner import Runner

TAGS = "refs/tags/"
# One commit per record (-z ends each with NUL); fields split by the unit separator.
_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%s", "%D")
_FORMAT = "--format=" + "\x1f".join(_FIELDS)


@dataclass(frozen=True)
class RefAt(Record):
    """A ref pointing at a commit: a local `branch`, a `remote_branch` (of `remote`) or a `tag`
    (fetched from `remote`, or made here)."""

    kind: str
    name: str
    remote: str | None = None


@dataclass(frozen=True)
class GraphCommit(Record):
    sha: str
    parents: list[str]
    subject: str
    author: Author
    refs: list[RefAt] = field(default_factory=list)


@dataclass(frozen=True)
class GraphPage(Record):
    commits: list[GraphCommit]
    more: bool  # whether git has commits past these


ORDERS = {"topo": "--topo-order", "date": "--date-order"}  # both list no parent before its children


def graph(runner: Runner, limit: int, skip: int = 0, order: str = "topo") -> GraphPage:
    """Commits `skip` to `skip + limit` of all branches, remote branches and tags, children first
    (none for a clone with no refs yet); `order` "topo" keeps a branch's commits together, "date"
    lists commits by their dates otherwise."""
    out = runner.run(["log", "-z", ORDERS[order], _FORMAT, "--decorate=full",
                      f"--decorate-refs={HEADS}", f"--decorate-refs={REMOTES}", f"--decorate-refs={TAGS}",
                      f"--decorate-refs={REMOTE_TAGS}", "-n", str(limit + 1), f"--skip={skip}",
                      "--branches", "--remotes", "--tags", f"--glob={REMOTE_TAGS.rstrip('/')}", "--"])
    found = []
    for record in out.stdout.split("\0"):
        if not record:
            continue
        sha, parents, name, email, authored, subject, decorations = record.lstrip("\n").split("\x1f", 6)
        found.append(GraphCommit(sha, parents.split(), subject, Author(name, email, authored),
                                 refs_at(decorations)))
    return GraphPage(found[:limit], len(found) > limit)


def refs_at(decorations: str) -> list[RefAt]:
    """The refs git's %D names (full names, `, `-separated: a ref name has no space)."""
    refs = []
    for item in decorations.split(", "):
        full = item.removeprefix("tag: ").removeprefix("HEAD -> ")
        if full.startswith(HEADS):
            refs.append(RefAt("branch", full[len(HEADS):]))
        elif full.startswith(REMOTES):
            remote, _, branch = full[len(REMOTES):].partition("/")
            if branch and branch != "HEAD":  # origin/HEAD only repeats the remote's default branch
                refs.append(RefAt("remote_branch", branch, remote))
        elif full.startswith(TAGS):
            refs.append(RefAt("tag", full[len(TAGS):]))
        elif full.startswith(REMOTE_TAGS):  # a remote's tag, kept apart from other remotes' (fetch.py)
            remote, _, tag = full[len(REMOTE_TAGS):].partition("/")
            refs.append(RefAt("tag", tag, remote))
    return refs
