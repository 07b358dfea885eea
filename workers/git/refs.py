"""Reading and writing refs: snapshot, branches, upstreams, ancestry."""

from __future__ import annotations

import os

from . import validate
from .errors import GitError
from .models import Branch, RefSnapshot, RemoteBranch, RemoteTag
from .runner import Runner

HEADS = "refs/heads/"
REMOTES = "refs/remotes/"
REMOTE_TAGS = "refs/remote-tags/"
_FORMAT = "%(refname)%00%(objectname)%00%(symref)%00%(upstream)%00%(upstream:track,nobracket)"


def zero_sha(like: str) -> str:
    """The null object name for the hash length of `like`."""
    return "0" * (len(like) if len(like) in (40, 64) else 40)


def _known(runner: Runner) -> RefSnapshot | None:
    """The snapshot of every branch read since the last git call that could change one."""
    cached = runner.cache.get("snapshot")
    return cached if isinstance(cached, RefSnapshot) else None


def ref_sha(runner: Runner, ref: str) -> str | None:
    """Object name a fully qualified ref points at, or None if it does not exist."""
    known = _known(runner)
    if known is not None and ref.startswith(HEADS):
        return next((b.sha for b in known.branches if HEADS + b.name == ref), None)
    if known is not None and ref.startswith(REMOTES):
        return next((b.sha for b in known.remote_branches if f"{REMOTES}{b.remote}/{b.name}" == ref), None)
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
    """Commits only `ours` has and commits only `theirs` has, in one history walk."""
    out = runner.run(["rev-list", "--left-right", "--count", f"{ours}...{theirs}"])
    ahead, behind = out.stdout.split()
    return int(ahead), int(behind)


def is_ancestor(runner: Runner, ancestor: str, descendant: str) -> bool:
    out = runner.run(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
    if out.returncode not in (0, 1):
        raise out.error()
    return out.returncode == 0


def update_ref(runner: Runner, ref: str, new: str, old: str, reason: str) -> None:
    """Move `ref` from `old` to `new`, failing if someone else moved it meanwhile."""
    out = runner.run(["update-ref", "-m", reason, "--end-of-options", ref, new, old], check=False)
    if out.returncode != 0:
        raise GitError(
            "git",
            f"{ref} changed while gitferry was updating it; try again",
            command=["git", "update-ref", ref, new, old],
            returncode=out.returncode,
            stdout=out.stdout,
            stderr=out.stderr,
        )


def delete_refs(runner: Runner, refs: list[str]) -> None:
    if refs:
        runner.run(["update-ref", "--stdin"], input="".join(f"delete {r}\n" for r in refs))


def list_refs(runner: Runner, *patterns: str) -> dict[str, str]:
    """refname -> sha for refs under the given prefixes, symrefs left out."""
    out = runner.run(["for-each-ref", "--format=%(refname)%00%(objectname)%00%(symref)", *patterns])
    result: dict[str, str] = {}
    for line in out.stdout.splitlines():
        name, sha, symref = line.split("\0")
        if not symref:
            result[name] = sha
    return result


# Remote URLs by clone, with the identity of the config file they were read from: git rewrites
# the file (new inode) on every change, so an unchanged stat means unchanged remotes.
_REMOTES_SEEN: dict[str, tuple[tuple[int, int, int], dict[str, str]]] = {}


def _config_identity(runner: Runner) -> tuple[int, int, int] | None:
    if runner.git_dir is None:
        return None
    try:
        st = os.stat(runner.git_dir / "config")
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def remote_urls(runner: Runner) -> dict[str, str]:
    identity = _config_identity(runner)
    seen = _REMOTES_SEEN.get(str(runner.git_dir))
    if identity is not None and seen is not None and seen[0] == identity:
        return dict(seen[1])
    out = runner.run(["config", "-z", "--get-regexp", r"^remote\..*\.url$"], check=False)
    if out.returncode not in (0, 1):
        raise out.error()
    urls: dict[str, str] = {}
    for entry in out.stdout.split("\0"):
        if entry:
            key, _, url = entry.partition("\n")
            urls[key[len("remote.") : -len(".url")]] = url
    if identity is not None:
        _REMOTES_SEEN[str(runner.git_dir)] = (identity, dict(urls))
    return urls


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


def _track(upstream: str, track: str) -> tuple[int | None, int | None]:
    if not upstream or track == "gone":
        return None, None
    ahead = behind = 0
    for part in track.split(","):
        word, _, count = part.strip().partition(" ")
        if word == "ahead":
            ahead = int(count)
        elif word == "behind":
            behind = int(count)
    return ahead, behind


def _branch(fields: list[str]) -> Branch:
    refname, sha, _symref, upstream, track = fields
    ahead, behind = _track(upstream, track)
    return Branch(
        name=refname[len(HEADS) :],
        sha=sha,
        upstream=_upstream_name(upstream) if upstream else None,
        ahead=ahead,
        behind=behind,
    )


def snapshot(runner: Runner) -> RefSnapshot:
    """All branches, remote-tracking branches and remote tags in one for-each-ref call."""
    known = _known(runner)
    if known is not None:
        return known
    out = runner.run(["for-each-ref", f"--format={_FORMAT}", "refs/heads", "refs/remotes", "refs/remote-tags"])
    branches: list[Branch] = []
    remote_branches: list[RemoteBranch] = []
    tags: list[RemoteTag] = []
    for line in out.stdout.splitlines():
        fields = line.split("\0")
        refname, sha, symref = fields[0], fields[1], fields[2]
        if symref:
            continue
        if refname.startswith(HEADS):
            branches.append(_branch(fields))
        elif refname.startswith(REMOTES):
            remote, _, name = refname[len(REMOTES) :].partition("/")
            remote_branches.append(RemoteBranch(remote, name, sha))
        elif refname.startswith(REMOTE_TAGS):
            remote, _, name = refname[len(REMOTE_TAGS) :].partition("/")
            tags.append(RemoteTag(remote, name, sha))
    runner.cache["snapshot"] = found = RefSnapshot(branches, remote_branches, tags)
    return found


def get_branch(runner: Runner, name: str) -> Branch:
    validate.branch_name(name)
    known = _known(runner)
    if known is not None:
        found = next((b for b in known.branches if b.name == name), None)
        if found is None:
            raise GitError("branch_not_found", f"branch {name!r} does not exist")
        return found
    ref = HEADS + name
    out = runner.run(["for-each-ref", f"--format={_FORMAT}", ref])
    for line in out.stdout.splitlines():
        fields = line.split("\0")
        # for-each-ref also matches refs below `ref` (refs/heads/name/x)
        if fields[0] == ref:
            return _branch(fields)
    raise GitError("branch_not_found", f"branch {name!r} does not exist")


def upstream_of(runner: Runner, branch: str) -> tuple[str, str] | None:
    """(remote, remote branch) configured as the branch's upstream, if any."""
    known = _known(runner)
    branch_known = next((b for b in known.branches if b.name == branch), None) if known else None
    if branch_known is not None and (branch_known.upstream is None or "/" in branch_known.upstream):
        if branch_known.upstream is None:
            return None
        remote_name, _, remote_branch = branch_known.upstream.partition("/")
        return remote_name, remote_branch
    remote = runner.run(["config", "--get", f"branch.{branch}.remote"], check=False)
    merge = runner.run(["config", "--get", f"branch.{branch}.merge"], check=False)
    remote_name, merge_ref = remote.stdout.strip(), merge.stdout.strip()
    if remote.returncode != 0 or merge.returncode != 0 or not merge_ref.startswith(HEADS):
        return None
    return remote_name, merge_ref[len(HEADS) :]


def set_upstream(runner: Runner, branch: str, remote: str, remote_branch: str) -> Branch:
    validate.branch_name(branch)
    validate.branch_name(remote_branch, "remote branch")
    require_remote(runner, remote)
    if ref_sha(runner, HEADS + branch) is None:
        raise GitError("branch_not_found", f"branch {branch!r} does not exist")
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
    """Create a local branch at a remote branch, a local branch or a commit sha."""
    validate.branch_name(name)
    if not isinstance(start_point, str) or not start_point or start_point.startswith("-"):
        raise GitError("invalid", f"start point {start_point!r} is not allowed")
    if ref_sha(runner, HEADS + name) is not None:
        raise GitError("branch_exists", f"branch {name!r} already exists")
    sha: str | None = None
    upstream: tuple[str, str] | None = None
    remote, slash, remote_branch = start_point.partition("/")
    if slash and remote in remote_urls(runner) and validate.refname_ok(HEADS + remote_branch):
        sha = ref_sha(runner, f"{REMOTES}{remote}/{remote_branch}")
        if sha is not None:
            upstream = (remote, remote_branch)
    if sha is None and validate.refname_ok(HEADS + start_point):
        sha = ref_sha(runner, HEADS + start_point)
    if sha is None and validate.is_hex(start_point):
        sha = resolve_commit(runner, start_point)
    if sha is None:
        raise GitError("start_point_not_found", f"start point {start_point!r} was not found")
    update_ref(runner, HEADS + name, sha, zero_sha(sha), f"gitferry: branch from {start_point}")
    if track and upstream is not None:
        return set_upstream(runner, name, *upstream)
    return get_branch(runner, name)
