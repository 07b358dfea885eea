"""A server-side bare clone: create, remove, health, remotes; other work is delegated."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from . import backups as _backups
from . import fetch as _fetch
from . import graph as _graph
from . import history as _history
from . import leftovers as _leftovers
from . import pull as _pull
from . import push as _push
from . import reflogs as _reflogs
from . import refs as _refs
from . import restore as _restore
from . import validate
from .backups import BackupRef
from .errors import GitError
from .models import (
    Branch,
    FetchResult,
    GitConfig,
    ProgressCallback,
    PullResult,
    PushResult,
    RefSnapshot,
)
from .rebase import clean_worktrees
from .restore import ResetResult
from .runner import Runner

# Set on every clone we create: gc in the foreground so a finished job means a quiet repo,
# reflogs everywhere so fork points and lost commits can be found.
# Loose ref files a clone may gather before housekeeping packs them.
LOOSE_REFS_MAX = 100
CLONE_CONFIG = (
    ("gc.autoDetach", "false"),
    (_reflogs.KEY, _reflogs.VALUE),
)
# Left in a clone whose housekeeping ran out of time, and how long it then pauses.
HOUSEKEEPING_STOPPED = "gitferry-housekeeping-stopped"
HOUSEKEEPING_PAUSE = 24 * 3600.0


class Clone:
    """One bare clone on disk, kept in step with its remotes.

    A Clone remembers the refs and remotes it read until it changes something itself: use one
    per job, under the clone's lock, and call forget() if anything else wrote to the repository.
    """

    def __init__(self, path: Path, config: GitConfig) -> None:
        self.path = Path(path)
        self.config = config
        self._git = Runner(config, self.path)

    def forget(self) -> None:
        """Drop what this Clone remembers of the repository's refs."""
        self._git.cache.clear()

    def limit_time(self, seconds: float) -> None:
        """Give the git calls from now on `seconds` together: past that, a call is not started
        and a running one is stopped (GitError job_timeout). Each alone has config.timeout."""
        self._git.deadline = time.monotonic() + seconds

    def clear_leftovers(self, *, after_crash: bool = False) -> list[str]:
        """Remove the lock files, temporary files and kept packs of gits that were killed (see
        leftovers.py); `after_crash` (a worker died in the middle of a job here), half-written
        objects and rebase worktrees too. Only while holding the clone's lock. The paths removed.
        A clone made before clones kept reflogs starts keeping them here (see reflogs.py)."""
        removed = _leftovers.clear(self.path, thorough=after_crash)
        _reflogs.keep_reflogs(self._git, self.path)
        if after_crash:
            clean_worktrees(self._git, self.path)
        return removed

    def __repr__(self) -> str:
        return f"Clone({str(self.path)!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def exists(self) -> bool:
        """True if something is at the clone's path."""
        return self.path.exists()

    def looks_intact(self) -> bool:
        """Cheapest check, no git run: the files every bare repository has are there."""
        p = self.path
        return all((p / f).is_file() for f in ("HEAD", "config")) and all((p / d).is_dir() for d in ("objects", "refs"))

    def is_healthy(self) -> bool:
        """Cheap check: bare repo opens, HEAD is a symbolic ref, every ref's object is there."""
        if not self.path.is_dir():
            return False
        try:
            bare = self._git.run(["rev-parse", "--is-bare-repository"])
            if bare.stdout.strip() != "true":
                return False
            head = self._git.run(["symbolic-ref", "-q", "HEAD"]).stdout.strip()
            # %(objecttype) makes git open every ref's object, so missing objects show.
            self._git.run(["for-each-ref", "--format=%(objectname) %(objecttype)"])
            if _refs.ref_sha(self._git, head) is not None:
                return _refs.resolve_commit(self._git, head) is not None
            return True
        except GitError:
            return False

    def move_aside(self) -> Path:
        """Rename the clone to <path>.corrupt-<utc timestamp> and return the new path."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        os.rename(self.path, target)
        return target

    def remove(self) -> None:
        """Delete the clone from disk; nothing happens if it is not there."""
        if self.path.is_symlink() or self.path.is_file():
            self.path.unlink()
        elif self.path.exists():
            shutil.rmtree(self.path)

    def create(self, origin_url: str, progress: ProgressCallback | None = None) -> str | None:
        """Clone `origin_url` as a bare repo here; return the default branch name (None while
        origin has no branches: the first fetch that finds some learns it)."""
        validate.remote_url(origin_url, self.config.allow_protocols, allow_local_hosts=self.config.allow_local_hosts)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise GitError("invalid", f"{self.path} already exists and is not empty")
        try:
            return self._create(origin_url, progress)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def _create(self, origin_url: str, progress: ProgressCallback | None) -> str | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._git.run(
            ["init", "--bare", "--quiet", "--initial-branch=main", "--end-of-options", str(self.path)],
            use_git_dir=False,
        )
        for key, value in CLONE_CONFIG:
            self._git.run(["config", key, value])
        self.add_remote("origin", origin_url)
        fetched = self.fetch("origin", progress=progress)  # follows origin's HEAD (see fetch)
        # Ancestry questions (ahead/behind, fast-forward or not) walk history; a commit-graph
        # makes that walk cheap. Later commits are found from it, and gc refreshes it.
        self._git.run(["commit-graph", "write", "--reachable"])
        default = fetched.default_branch
        if default is None:
            # origin's HEAD names a branch it does not have: take a likely one, as clones did
            remote_heads = sorted(m.ref[len(_refs.HEADS) :] for m in fetched.updated if m.ref.startswith(_refs.HEADS))
            fallback = [b for b in ("main", "master") if b in remote_heads]
            default = (fallback or remote_heads or [None])[0]
            if default is not None:
                self._start_default_branch(default)
        self._git.run(["pack-refs", "--all"])
        return default

    def _start_default_branch(self, default: str) -> None:
        """A clone whose HEAD names no branch yet (it was cloned empty) gets one for origin's
        default branch with origin/<default> as its upstream, and HEAD on it, as `git clone`
        would have made it. A clone with a branch on HEAD is left as it is."""
        if self.head_branch() is not None:
            return
        if _refs.ref_sha(self._git, _refs.HEADS + default) is None:
            self.create_branch(default, f"origin/{default}", track=True)
        self._git.run(["symbolic-ref", "HEAD", _refs.HEADS + default])

    def housekeeping(self) -> None:
        """What jobs leave for later, run once their answer is out: gc when git thinks it is due,
        and loose refs (one file each, read by every job) packed once there are many.

        It holds the clone meanwhile, so give it a time limit (limit_time). A gc stopped there
        did nothing, and the next would be stopped the same way after every job: gc then pauses
        for HOUSEKEEPING_PAUSE (GitError job_timeout says when it stops)."""
        if _count_loose_refs(self.path) > LOOSE_REFS_MAX:
            self._git.run(["pack-refs", "--all"])
        stopped = self.path / HOUSEKEEPING_STOPPED
        stopped_at = _modified(stopped)
        if stopped_at is not None and time.time() - stopped_at < HOUSEKEEPING_PAUSE:
            return
        try:
            self._git.run(["maintenance", "run", "--auto", "--quiet"])
        except GitError as exc:
            if exc.code == "job_timeout":
                stopped.touch()
            raise
        if stopped_at is not None:
            stopped.unlink(missing_ok=True)

    # -- remotes ---------------------------------------------------------------------------

    def remotes(self) -> dict[str, str]:
        """Configured remotes: name -> URL."""
        return _refs.remote_urls(self._git)

    def add_remote(self, name: str, url: str) -> None:
        """Add a remote; tags from it will go to refs/remote-tags/<name>/."""
        validate.remote_name(name)
        validate.remote_url(url, self.config.allow_protocols, allow_local_hosts=self.config.allow_local_hosts)
        if name in self.remotes():
            raise GitError("remote_exists", f"remote {name!r} already exists")
        self._git.run(["remote", "add", "--end-of-options", name, url])
        # A plain `git fetch <name>` must not fill refs/tags from every remote.
        self._git.run(["config", f"remote.{name}.tagOpt", "--no-tags"])

    def remove_remote(self, name: str) -> None:
        """Drop a remote with its remote-tracking refs, tags and upstream settings."""
        _refs.require_remote(self._git, name)
        # git removes refs/remotes/<name>/* and branch.*.remote/merge pointing to it.
        self._git.run(["remote", "remove", "--end-of-options", name])
        tags = _refs.list_refs(self._git, f"{_refs.REMOTE_TAGS}{name}")
        _refs.delete_refs(self._git, sorted(tags))

    def set_remote_url(self, name: str, url: str) -> None:
        """Point a remote at a new URL."""
        _refs.require_remote(self._git, name)
        validate.remote_url(url, self.config.allow_protocols, allow_local_hosts=self.config.allow_local_hosts)
        self._git.run(["remote", "set-url", "--end-of-options", name, url])

    def head_branch(self) -> str | None:
        """The local branch HEAD names, if it exists (None while HEAD names no branch yet)."""
        head = _read_head(self.path)
        if head is None or _refs.ref_sha(self._git, head) is None:
            return None
        return head[len(_refs.HEADS) :]

    def default_branch(self, remote: str = "origin") -> str | None:
        """The remote's default branch as recorded in refs/remotes/<remote>/HEAD."""
        validate.remote_name(remote)
        out = self._git.run(["symbolic-ref", "-q", f"{_refs.REMOTES}{remote}/HEAD"], check=False)
        prefix = f"{_refs.REMOTES}{remote}/"
        target = out.stdout.strip()
        return target[len(prefix) :] if out.returncode == 0 and target.startswith(prefix) else None

    # -- fetch and refs --------------------------------------------------------------------

    def fetch(self, remote: str, *, prune: bool = True, progress: ProgressCallback | None = None) -> FetchResult:
        """Fetch a remote's branches and tags into its namespaces; report what changed. Its
        HEAD is followed (fetch.follow_head); origin's gives a clone cloned empty its branch."""
        fetched = _fetch.fetch(self._git, remote, prune=prune, progress=progress)
        if remote == "origin" and fetched.default_branch is not None:
            self._start_default_branch(fetched.default_branch)
        return fetched

    def refs(self, *, distances: bool = True) -> RefSnapshot:
        """Every branch with ahead/behind, remote-tracking branch and remote tag. Without
        `distances`, ahead/behind that would need git to walk history is left None (`pending`)."""
        return _refs.snapshot(self._git, distances=distances)

    def branch(self, name: str) -> Branch:
        """One local branch; GitError branch_not_found if it is not there."""
        return _refs.get_branch(self._git, name)

    def create_branch(self, name: str, start_point: str, *, track: bool = True) -> Branch:
        """Create a branch at "<remote>/<branch>", a local branch, or a commit sha."""
        return _refs.create_branch(self._git, name, start_point, track=track)

    def set_upstream(self, branch: str, remote: str, remote_branch: str) -> Branch:
        """Make remote/remote_branch the upstream of a local branch."""
        return _refs.set_upstream(self._git, branch, remote, remote_branch)

    def unset_upstream(self, branch: str) -> None:
        """Remove a local branch's upstream setting."""
        _refs.unset_upstream(self._git, branch)

    # -- history (reads only: no lock needed) -----------------------------------------------

    def resolve(self, ref: str) -> _history.Resolved:
        """The commit a branch, `<remote>/<branch>`, tag or sha names; GitError ref_not_found."""
        return _history.resolve(self._git, ref)

    def commits(self, head: str, not_: str | None, limit: int, after: str | None = None) -> _history.CommitPage:
        """Commits of `head` not in `not_` (shas), newest first, `limit` at a time after `after`."""
        return _history.commits(self._git, head, not_, limit, after)

    def compare(self, base: _history.Resolved, head: _history.Resolved, limit: int) -> _history.Comparison:
        """Ahead and behind (at most `limit` commits listed each, all counted) and the merge base."""
        return _history.compare(self._git, base, head, limit)

    def graph(self, limit: int, skip: int = 0, order: str = "topo") -> _graph.GraphPage:
        """The commit graph's commits: all branches, remote branches and tags, children first."""
        return _graph.graph(self._git, limit, skip, order)

    # -- pull and push ---------------------------------------------------------------------

    def pull(self, branch: str, strategy: str) -> PullResult:
        """Update a branch from its upstream as last fetched (no network)."""
        return _pull.pull(self._git, self.path, branch, strategy)

    def preview_pull(self, branch: str, strategy: str) -> PullResult:
        """What pull() would do with the upstream's tip fetched now; changes no ref (dry run)."""
        return _pull.preview(self._git, self.path, branch, strategy)

    def update_branch(self, branch: str, remote: str, remote_branch: str, strategy: str) -> PullResult:
        """Update a branch from remote/remote_branch as last fetched (no network)."""
        return _pull.update_branch(self._git, self.path, branch, remote, remote_branch, strategy)

    def push(
        self,
        branch: str,
        *,
        remote: str | None = None,
        remote_branch: str | None = None,
        set_upstream: bool | None = None,
        force: bool = False,
        protected: Sequence[str] = (),
        expect: str | None = None,
        dry_run: bool = False,
        look_first: bool = False,
        fetched: _push.Fetched | None = None,
    ) -> PushResult:
        """Push a branch to its upstream, or origin/<branch>, or where told (see push.push)."""
        return _push.push(
            self._git,
            branch,
            remote=remote,
            remote_branch=remote_branch,
            set_upstream=set_upstream,
            force=force,
            protected=protected,
            expect=expect,
            dry_run=dry_run,
            look_first=look_first,
            fetched=fetched,
        )

    # -- backups ---------------------------------------------------------------------------

    def backups(self) -> list[BackupRef]:
        """Every backup ref in the clone (see backups.py)."""
        return _backups.found(self._git)

    def keep_local_backup(self, branch: str, old: str) -> str:
        """Keep `old`, the tip local `branch` had before a rewrite, as a backup ref; its name."""
        return _backups.keep_local(self._git, branch, old)

    def delete_backups(self, refs: list[str]) -> None:
        _backups.delete(self._git, refs)

    def restore(self, backup: BackupRef, lease: str | None, protected: Sequence[str] = (),
                fetched: _push.Fetched | None = None) -> PushResult | ResetResult:
        """Put a backup's branch back where it kept it, if the branch is at `lease` (restore.py)."""
        return _restore.restore(self._git, backup, lease, protected, fetched)


def _modified(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _read_head(path: Path) -> str | None:
    """The ref a bare repository's HEAD names (read from its file: no git run on every fetch)."""
    try:
        content = (path / "HEAD").read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return content[len("ref: ") :] if content.startswith("ref: refs/heads/") else None


def _count_loose_refs(path: Path) -> int:
    return sum(len(files) for _root, _dirs, files in os.walk(path / "refs"))
