"""Reading history: commits of a ref (newest first, paged) and the comparison of two refs.

Every call only reads; nothing here takes the clone's lock, so reads never wait behind a fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import GitError
from .models import Author, Commit, Record
from .refs import HEADS, REMOTES, all_refs, resolve_commit
from .runner import Runner

# One commit per record (-z ends each with NUL); fields split by the unit separator.
_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%cI", "%s")
_FORMAT = "--format=%m\x1f" + "\x1f".join(_FIELDS)
_HEX = re.compile(r"^[0-9a-f]{4,64}\Z")
TAGS = "refs/tags/"


@dataclass(frozen=True)
class Resolved(Record):
    """What a ref the caller named turned out to be: a local `branch`, a `remote_branch`
    (`remote` and `branch` then say which), a `tag` or a `commit`; `sha` is the commit."""

    ref: str
    kind: str
    sha: str
    remote: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class CommitPage(Record):
    commits: list[Commit]
    next: str | None  # give as `after` for the next page; None on the last page


@dataclass(frozen=True)
class Side(Record):
    """One side of a comparison: how many commits it has that the other has not, and the newest
    of them (at most the limit asked for), newest first."""

    total: int
    commits: list[Commit]


@dataclass(frozen=True)
class Comparison(Record):
    base: Resolved
    head: Resolved
    merge_base: str | None
    ahead: Side  # what head has and base has not
    behind: Side  # what base has and head has not


def resolve(runner: Runner, ref: str) -> Resolved:
    """A local branch, else `<remote>/<branch>` (a remote's name has no '/'), else a tag, else a
    commit sha (whole or abbreviated); GitError ref_not_found if it is none of these."""
    refs = all_refs(runner)
    sha = refs.get(HEADS + ref)
    if sha is not None:
        return Resolved(ref, "branch", sha, branch=ref)
    remote, _, branch = ref.partition("/")
    sha = refs.get(REMOTES + ref) if branch else None
    if sha is not None:
        return Resolved(ref, "remote_branch", sha, remote=remote, branch=branch)
    if TAGS + ref in refs:
        peeled = resolve_commit(runner, TAGS + ref)
        if peeled is not None:
            return Resolved(ref, "tag", peeled)
    if _HEX.match(ref):
        found = resolve_commit(runner, ref)
        if found is not None:
            return Resolved(ref, "commit", found)
    raise GitError("ref_not_found", f"no branch, remote branch, tag or commit named {ref[:200]!r}")


def commits(runner: Runner, head: str, not_: str | None, limit: int, after: str | None = None) -> CommitPage:
    """Commits reachable from `head` and not from `not_` (shas), newest first as `git log`
    lists them; `limit` of them, those listed after commit `after` when it is given."""
    excluded = [f"^{not_}"] if not_ else []
    if after is None:
        found = log(runner, ["-n", str(limit + 1), head, *excluded])
    else:
        listed = runner.run(["rev-list", head, *excluded]).stdout.split()
        try:
            start = listed.index(after) + 1
        except ValueError:
            raise GitError("after_not_found", f"commit {after[:64]!r} is not in this listing") from None
        page = listed[start:start + limit + 1]
        found = log(runner, ["--no-walk=unsorted", *page]) if page else []
    more = len(found) > limit
    return CommitPage(found[:limit], found[limit - 1].sha if more else None)


def compare(runner: Runner, base: Resolved, head: Resolved, limit: int) -> Comparison:
    """What `head` has that `base` has not (ahead) and the other way round (behind), with
    their merge base: one walk of the symmetric difference (`git log --left-right`)."""
    return Comparison(base, head, *_compare(runner, base.sha, head.sha, limit))


def _compare(runner: Runner, base: str, head: str, limit: int) -> tuple[str | None, Side, Side]:
    ahead: list[Commit] = []
    behind: list[Commit] = []
    boundary: list[str] = []
    ahead_by = behind_by = 0
    for mark, commit in _marked(runner, ["--left-right", "--boundary", f"{base}...{head}"]):
        if mark == ">":
            ahead_by += 1
            if len(ahead) < limit:
                ahead.append(commit)
        elif mark == "<":
            behind_by += 1
            if len(behind) < limit:
                behind.append(commit)
        else:
            boundary.append(commit.sha)
    if base == head:
        merge_base: str | None = base
    elif len(boundary) == 1:  # the usual case: the one commit both sides grew from
        merge_base = boundary[0]
    elif not boundary:  # no common history
        merge_base = None
    else:
        out = runner.run(["merge-base", base, head], check=False)
        merge_base = out.stdout.strip() or None
    return merge_base, Side(ahead_by, ahead), Side(behind_by, behind)


def log(runner: Runner, args: list[str]) -> list[Commit]:
    """The commits `git log <args>` lists, newest first."""
    return [commit for _mark, commit in _marked(runner, args)]


def _marked(runner: Runner, args: list[str]) -> list[tuple[str, Commit]]:
    out = runner.run(["log", "-z", _FORMAT, *args, "--"])
    found = []
    for record in out.stdout.split("\0"):
        if not record:
            continue
        mark, sha, parents, name, email, authored, committed, subject = record.lstrip("\n").split("\x1f", 7)
        found.append((mark, Commit(sha, parents.split(), subject, Author(name, email, authored), committed)))
    return found
