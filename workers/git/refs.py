"""Reading and writing refs: snapshot, branches, upstreams, ancestry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import validate
from .errors import GitError
from .models import Branch, RefSnapshot, RemoteBranch, RemoteTag
from .reffiles import config_identity, read_refs
from .runner import Runner

HEADS = "refs/heads/"
REMOTES = "refs/remotes/"
REMOTE_TAGS = "refs/remote-tags/"


def zero_sha(like: str) -> str:
    """The null object name for the hash length of `like`."""
    return "0" * (len(like) if len(like) in (40, 64) else 40)


# Ahead/behind of (branch sha, upstream sha): commits never change, so neither does the answer.
_DISTANCES: dict[tuple[str, str], tuple[int, int]] = {}
_DISTANCES_MAX = 100_000


def _known(runner: Runner) -> RefSnapshot | None:
    """The snapshot of every branch read since the last git call that could change one."""
    cached = runner.cache.get("snapshot")
    return cached if isinstance(cached, RefSnapshot) else None


def all_refs(runner: Runner) -> dict[str, str]:
    """refname -> sha of every ref under refs/ (symrefs left out), kept until git writes."""
    cached = runner.cache.get("refs")
    if isinstance(cached, dict):
        return cached
    found = read_refs(runner.git_dir) if runner.git_dir is not None else None
    if found is None:
        out = runner.run(["for-each-ref", "--format=%(refname)%00%(objectname)%00%(symref)"])
        found = {}
        for line in out.stdout.splitlines():
            name, sha, symref = line.split("\0")
            if not symref:
                found[name] = sha
    runner.cache["refs"] = found
    return found


def ref_sha(runner: Runner, ref: str) -> str | None:
    """Object name a fully qualified ref points at, or None if it does not exist."""
    if ref.startswith("refs/"):
        return all_refs(runner).get(ref)
    out = runner.run(["show-ref", "--verify", "--end-of-options", ref], check=False)
    if out.returncode != 0:
        if "not a valid ref" in out.stderr or not out.stderr.strip():
            return None
        raise out.error()
    return out.stdout.split()[0]


def resolve_commit(runner: Runner, rev: str) -> str | None:
    """Full sha of a commit named by `rev` (already validated), or None."""
    out = runner.run(["rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"], check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def ahead_behind(runner: Runner, ours: str, theirs: str) -> tuple[int, int]:
    """Commits only `ours` has and commits only `theirs` has, in one history walk (or none,
    when a snapshot of the branches has just answered the same question)."""
    known = _DISTANCES.get((ours, theirs))
    if known is not None:
        return known
    out = runner.run(["rev-list", "--left-right", "--count", f"{ours}...{theirs}"])
    ahead, behind = out.stdout.split()
    _remember((ours, theirs), (int(ahead), int(behind)))
    return int(ahead), int(behind)


def _remember(pair: tuple[str, str], distance: tuple[int, int]) -> None:
    if len(_DISTANCES) > _DISTANCES_MAX:
        _DISTANCES.clear()
    _DISTANCES[pair] = distance


def is_ancestor(runner: Runner, ancestor: str, descendant: str) -> bool:
    out = runner.run(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
    if out.returncode not in (0, 1):
        raise out.error()
    return out.returncode == 0


def update_ref(runner: Runner, ref: str, new: str, old: str, reason: str) -> None:
    """Move `ref` from `old` to `new`, failing if someone else moved it meanwhile."""
    out = runner.run(["update-ref", "-m", reason, "--end-of-options", ref, new, old], check=False)
    if out.returncode != 0:
        code, message = _why_not_updated(ref, out.stderr)
        raise GitError(code, message, command=["git", "update-ref", ref, new, old], returncode=out.returncode,
                       stdout=out.stdout, stderr=out.stderr)


# git's words when a ref cannot be a file because another ref is a folder of that name, or the
# other way round (a "D/F conflict", refs/files-backend.c), and when the file system refuses a file's name.
_BLOCKED = re.compile(r"'(refs/[^']*)' exists; cannot create '(refs/[^']*)'")
_TOO_LONG = "File name too long"


def _why_not_updated(ref: str, stderr: str) -> tuple[str, str]:
    """The code and message of a failed update of `ref`, as git explained it."""
    blocked = _BLOCKED.search(stderr)
    if blocked:
        existing, wanted = blocked.groups()
        return "ref_conflict", (f"cannot create {shown_ref(wanted)}: {shown_ref(existing)} exists, and git cannot "
                                "keep a name that is both a branch and a folder of branches")
    # For a folder git only says "unable to create directory"; a part over NAME_MAX is why.
    if _TOO_LONG in stderr or validate.too_long(ref):
        return "name_too_long", (f"cannot create {shown_ref(ref)}: its name is too long for the clone's file "
                                 "system (File name too long)")
    return "ref_changed", f"{ref} changed while gitferry was updating it; try again"


def shown_ref(ref: str) -> str:
    """A ref in the user's words: branch 'x', remote branch 'origin/x', or the ref itself."""
    if ref.startswith(HEADS):
        return f"branch {ref[len(HEADS):]!r}"
    if ref.startswith(REMOTES):
        return f"remote branch {ref[len(REMOTES):]!r}"
    return repr(ref)


def delete_refs(runner: Runner, refs: list[str]) -> None:
    if refs:
        runner.run(["update-ref", "--stdin"], input="".join(f"delete {r}\n" for r in refs))


def list_refs(runner: Runner, *prefixes: str) -> dict[str, str]:
    """refname -> sha for refs under the given prefixes (whole path components), symrefs left out."""
    wanted = tuple(p.rstrip("/") + "/" for p in prefixes)
    return {name: sha for name, sha in all_refs(runner).items() if name.startswith(wanted)}


@dataclass(frozen=True)
class _Config:
    remotes: dict[str, str]  # name -> URL
    upstreams: dict[str, tuple[str, str]]  # branch -> (remote, merge ref), as configured


# The remotes and upstreams of each clone, with the identity of the config file they came from.
_CONFIG_SEEN: dict[str, tuple[tuple[int, int, int], _Config]] = {}


def _config(runner: Runner) -> _Config:
    identity = config_identity(runner.git_dir) if runner.git_dir is not None else None
    seen = _CONFIG_SEEN.get(str(runner.git_dir))
    if identity is not None and seen is not None and seen[0] == identity:
        return seen[1]
    pattern = r"^(remote\..*\.url|branch\..*\.(remote|merge))$"
    out = runner.run(["config", "-z", "--get-regexp", pattern], check=False)
    if out.returncode not in (0, 1):
        raise out.error()
    urls: dict[str, str] = {}
    branch_keys: dict[str, dict[str, str]] = {}
    for entry in out.stdout.split("\0"):
        if not entry:
            continue
        key, _, value = entry.partition("\n")
        section, _, rest = key.partition(".")
        name, _, setting = rest.rpartition(".")
        if section == "remote":
            urls[name] = value
        else:
            branch_keys.setdefault(name, {})[setting] = value
    upstreams = {b: (k["remote"], k["merge"]) for b, k in branch_keys.items() if "remote" in k and "merge" in k}
    found = _Config(urls, upstreams)
    if identity is not None:
        _CONFIG_SEEN[str(runner.git_dir)] = (identity, found)
    return found


def remote_urls(runner: Runner) -> dict[str, str]:
    return dict(_config(runner).remotes)


def require_remote(runner: Runner, remote: str) -> str:
    """URL of a configured remote; GitError remote_not_found otherwise."""
    validate.remote_name(remote)
    url = remote_urls(runner).get(remote)
    if url is None:
        raise GitError("remote_not_found", f"remote {remote!r} is not configured")
    return url


def _upstream_name(ref: str) -> str:
    for prefix in (REMOTES, HEADS):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _tracking_ref(upstream: tuple[str, str] | None) -> str | None:
    """The ref a configured upstream (remote, merge ref) is followed by locally."""
    if upstream is None or not upstream[1].startswith(HEADS):
        return None
    remote, merge = upstream
    return merge if remote == "." else f"{REMOTES}{remote}/{merge[len(HEADS):]}"


def _distances(runner: Runner, pairs: dict[str, tuple[str, str]]) -> None:
    """Learn ahead/behind for branch -> (sha, upstream sha) pairs not known yet, in one git call."""
    unknown = {b: pair for b, pair in pairs.items() if pair not in _DISTANCES and pair[0] != pair[1]}
    if not unknown:
        return
    # Name the branches when they are few; for many, one pass over every branch is cheaper.
    patterns = [HEADS + b for b in unknown] if len(unknown) <= 50 else ["refs/heads"]
    out = runner.run(["for-each-ref", "--format=%(refname)%00%(upstream:track,nobracket)", *patterns])
    for line in out.stdout.splitlines():
        refname, track = line.split("\0")
        pair = unknown.get(refname[len(HEADS) :])
        if pair is not None and track != "gone":
            _remember(pair, _track(track))


def _track(track: str) -> tuple[int, int]:
    ahead = behind = 0
    for part in track.split(","):
        word, _, count = part.strip().partition(" ")
        if word == "ahead":
            ahead = int(count)
        elif word == "behind":
            behind = int(count)
    return ahead, behind


def snapshot(runner: Runner, *, distances: bool = True) -> RefSnapshot:
    """All branches (with ahead/behind), remote-tracking branches and remote tags.

    Without `distances`, only ahead/behind already known are filled in; the others stay None
    and the snapshot says it is `pending` (git would have to walk history for them).
    """
    known = _known(runner)
    if known is not None and not (known.pending and distances):
        return known
    refs = all_refs(runner)
    upstreams = _config(runner).upstreams
    local: list[tuple[str, str, str | None, str | None]] = []  # name, sha, upstream, its sha
    remote_branches: list[RemoteBranch] = []
    tags: list[RemoteTag] = []
    for refname in sorted(refs):
        sha = refs[refname]
        if refname.startswith(HEADS):
            name = refname[len(HEADS) :]
            tracking = _tracking_ref(upstreams.get(name))
            local.append((name, sha, tracking, refs.get(tracking) if tracking else None))
        elif refname.startswith(REMOTES):
            remote, _, name = refname[len(REMOTES) :].partition("/")
            remote_branches.append(RemoteBranch(remote, name, sha))
        elif refname.startswith(REMOTE_TAGS):
            remote, _, name = refname[len(REMOTE_TAGS) :].partition("/")
            tags.append(RemoteTag(remote, name, sha))
    if distances:
        _distances(runner, {name: (sha, theirs) for name, sha, _t, theirs in local if theirs})
    branches = []
    pending = False
    for name, sha, tracking, theirs in local:
        ahead, behind = (None, None)
        if theirs is not None:
            ahead, behind = (0, 0) if sha == theirs else _DISTANCES.get((sha, theirs), (None, None))
            pending = pending or (ahead is None and not distances)
        upstream = _upstream_name(tracking) if tracking else None
        branches.append(Branch(name, sha, upstream, ahead, behind, gone=tracking is not None and theirs is None))
    runner.cache["snapshot"] = found = RefSnapshot(branches, remote_branches, tags, pending)
    return found


def get_branch(runner: Runner, name: str) -> Branch:
    validate.branch_name(name)
    found = next((b for b in snapshot(runner).branches if b.name == name), None)
    if found is None:
        raise GitError("branch_not_found", f"branch {name!r} does not exist")
    return found


def upstream_of(runner: Runner, branch: str) -> tuple[str, str] | None:
    """(remote, remote branch) configured as the branch's upstream, if any."""
    upstream = _config(runner).upstreams.get(branch)
    if upstream is None or not upstream[1].startswith(HEADS):
        return None
    return upstream[0], upstream[1][len(HEADS) :]


def set_upstream(runner: Runner, branch: str, remote: str, remote_branch: str) -> Branch:
    """Make `remote`/`remote_branch` the branch's upstream; as git, only one that is there as last fetched."""
    validate.branch_name(branch)
    validate.branch_name(remote_branch, "remote branch")
    require_remote(runner, remote)
    if ref_sha(runner, HEADS + branch) is None:
        raise GitError("branch_not_found", f"branch {branch!r} does not exist")
    if ref_sha(runner, f"{REMOTES}{remote}/{remote_branch}") is None:
        raise GitError("upstream_not_found", f"the requested upstream branch '{remote}/{remote_branch}' does not "
                       f"exist; if it was pushed to {remote} since the last fetch, fetch {remote} first")
    runner.run(["config", f"branch.{branch}.remote", remote])
    runner.run(["config", f"branch.{branch}.merge", HEADS + remote_branch])
    return get_branch(runner, branch)


def unset_upstream(runner: Runner, branch: str) -> None:
    validate.branch_name(branch)
    if ref_sha(runner, HEADS + branch) is None:
        raise GitError("branch_not_found", f"branch {branch!r} does not exist")
    for key in ("remote", "merge"):
        # exit 5: the key was not set, which is what we want anyway
        out = runner.run(["config", "--unset", f"branch.{branch}.{key}"], check=False)
        if out.returncode not in (0, 5):
            raise out.error()


def create_branch(runner: Runner, name: str, start_point: str, *, track: bool = True) -> Branch:
    """Create a local branch at a remote branch, a local branch or a commit sha, named short
    (`origin/x`, `x`) or in full (`refs/remotes/origin/x`, `refs/heads/x`)."""
    validate.branch_name(name)
    validate.start_point(start_point)
    if ref_sha(runner, HEADS + name) is not None:
        raise GitError("branch_exists", f"branch {name!r} already exists")
    found = _start_refs(runner, start_point)
    if len(found) > 1:
        both = " and ".join(f"{shown_ref(ref)} ({ref})" for ref in found)
        raise GitError("ambiguous_start_point", f"start point {start_point!r} is ambiguous: it names {both}; "
                       "give the full ref")
    sha = ref_sha(runner, found[0]) if found else None
    if sha is None and validate.is_hex(start_point):
        sha = resolve_commit(runner, start_point)
    if sha is None:
        raise GitError("start_point_not_found", f"start point {start_point!r} was not found")
    update_ref(runner, HEADS + name, sha, zero_sha(sha), f"gitferry: branch from {start_point}")
    if track and found and found[0].startswith(REMOTES):
        remote, _, remote_branch = found[0][len(REMOTES) :].partition("/")
        return set_upstream(runner, name, remote, remote_branch)
    return get_branch(runner, name)


def _start_refs(runner: Runner, start_point: str) -> list[str]:
    """The refs a start point names, as git reads it: a full ref names itself; a short name a
    local branch and a remote branch alike (ambiguous when both are there). Remote branches
    count for the repo's remotes only."""
    if start_point.startswith((HEADS, REMOTES)):
        candidates = [start_point]
    else:
        candidates = [HEADS + start_point, REMOTES + start_point]
    remotes = remote_urls(runner)
    refs = all_refs(runner)
    return [ref for ref in candidates if ref in refs
            and (ref.startswith(HEADS) or ref[len(REMOTES) :].partition("/")[0] in remotes)]
