"""Fetching a remote into its own namespaces and following its default branch."""

from __future__ import annotations

from .models import FetchResult, ProgressCallback, RefGone, RefMove
from .refs import HEADS, REMOTE_TAGS, REMOTES, list_refs, require_remote
from .runner import Runner


def refspecs(remote: str) -> list[str]:
    """Branches to refs/remotes/<r>/, tags to refs/remote-tags/<r>/ so remotes never clash."""
    return [f"+refs/heads/*:{REMOTES}{remote}/*", f"+refs/tags/*:{REMOTE_TAGS}{remote}/*"]


def _as_remote_names(remote: str, refs: dict[str, str]) -> dict[str, str]:
    named: dict[str, str] = {}
    for ref, sha in refs.items():
        if ref.startswith(f"{REMOTES}{remote}/"):
            named[HEADS + ref[len(REMOTES) + len(remote) + 1 :]] = sha
        else:
            named["refs/tags/" + ref[len(REMOTE_TAGS) + len(remote) + 1 :]] = sha
    return named


def fetch(runner: Runner, remote: str, *, prune: bool = True, progress: ProgressCallback | None = None) -> FetchResult:
    """Fetch `remote` and report which of its refs changed; local branches are not touched."""
    url = require_remote(runner, remote)
    patterns = [f"{REMOTES}{remote}", f"{REMOTE_TAGS}{remote}"]
    before = _as_remote_names(remote, list_refs(runner, *patterns))
    args = ["fetch", "--no-tags", "--no-write-fetch-head"]
    if prune:
        args.append("--prune")
    if progress is not None:
        args.append("--progress")
    if any(ref.startswith(HEADS) for ref in before):
        # Negotiation offers the server commits from every local ref as history we share. After
        # a big rebase of a local branch, or with other remotes' refs, most are unknown to it,
        # and round after round goes over them. Its own branches as last fetched are what it
        # has: offer only those. A remote fetched for the first time has none, and offers every
        # ref as before (a fork shares most of origin's history).
        args.append(f"--negotiation-tip={REMOTES}{remote}/*")
    runner.run([*args, "--end-of-options", remote, *refspecs(remote)], url=url, progress=progress)
    # The refs read here stay with the runner for the snapshot the job records after answering.
    after = _as_remote_names(remote, list_refs(runner, *patterns))
    updated = [RefMove(ref, before.get(ref), sha) for ref, sha in sorted(after.items()) if before.get(ref) != sha]
    deleted = [RefGone(ref, sha) for ref, sha in sorted(before.items()) if ref not in after]
    return FetchResult(updated, deleted, follow_head(runner, remote, url, after))


def follow_head(runner: Runner, remote: str, url: str, refs: dict[str, str]) -> str | None:
    """The branch refs/remotes/<remote>/HEAD points at, set as `git remote set-head <remote>
    --auto` sets it when the clone has none or it names a branch the remote no longer has.

    git 2.48's fetch does this itself (remote.<name>.followRemoteHEAD, "create" by default); older
    gits, like the one here, cannot tell from a fetch, so the remote is asked once more, and only
    then. A remote with no branches yet has nothing to point at: None, asked again next time."""
    branches = {ref[len(HEADS) :] for ref in refs if ref.startswith(HEADS)}
    known = remote_head(runner, remote)
    if known in branches or not branches:
        return known if known in branches else None
    told = remote_default_branch(runner, remote, url)
    if told not in branches:
        return None  # the remote's HEAD names a branch it does not have: nothing to follow
    runner.run(["symbolic-ref", f"{REMOTES}{remote}/HEAD", f"{REMOTES}{remote}/{told}"])
    return told


def remote_head(runner: Runner, remote: str) -> str | None:
    """The branch refs/remotes/<remote>/HEAD names, read from its file (a symbolic ref is never
    packed), or None without one."""
    if runner.git_dir is None:
        return None
    try:
        content = (runner.git_dir / f"{REMOTES}{remote}/HEAD").read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    prefix = f"ref: {REMOTES}{remote}/"
    return content[len(prefix) :] if content.startswith(prefix) else None


def remote_default_branch(runner: Runner, remote: str, url: str) -> str | None:
    """Branch the remote's HEAD points at, asked over the network (None if it says nothing)."""
    out = runner.run(["ls-remote", "--symref", "--end-of-options", remote, "HEAD"], url=url)
    for line in out.stdout.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            target = line[len("ref: ") : -len("\tHEAD")]
            if target.startswith(HEADS):
                return target[len(HEADS) :]
    return None
