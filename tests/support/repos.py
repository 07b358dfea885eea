"""Helpers to build real git repositories for tests (plain git, deterministic identities).

Typical use::

    forge = init_forge(tmp_path / "forge.git")          # bare repo standing in for GitHub
    work = work_clone(forge, tmp_path / "work")        # normal clone to make commits in
    make_commit(work, "README", "hello\\n", "first")
    push(work, "main")
    clone_url = file_url(forge)

All helpers run git with no system/global config and fixed author/committer, so hashes are
stable across runs for the same operations.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = [
    "GIT_ENV",
    "branch_sha",
    "commit_to",
    "fast_import",
    "file_url",
    "git",
    "init_forge",
    "list_refs",
    "make_commit",
    "push",
    "ref_sha",
    "work_clone",
]

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T12:00:00+00:00",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_COMMITTER_DATE": "2024-01-01T12:00:00+00:00",
}


def git(cwd: Path | str, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run plain git in `cwd` with the test environment; return stdout without the last newline."""
    env = {**os.environ, **GIT_ENV}
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout.rstrip("\n")


def file_url(path: Path) -> str:
    """file:// URL of a local repository."""
    return Path(path).resolve().as_uri()


def init_forge(path: Path, default_branch: str = "main") -> Path:
    """Create an empty bare repository whose HEAD points at `default_branch`."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--bare", f"--initial-branch={default_branch}")
    return path


def work_clone(forge: Path | str, path: Path, branch: str | None = None) -> Path:
    """Normal (non-bare) clone of `forge` (path or URL) to commit in; works on empty forges."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["clone", "--quiet"]
    if branch:
        args += ["--branch", branch]
    git(path.parent, *args, str(forge), str(path))
    return path


def make_commit(workdir: Path, path: str, content: str | None, message: str, *, branch: str | None = None) -> str:
    """Write (or delete, with content=None) `path` and commit it; return the new sha.

    With `branch`, the branch is checked out first (created from HEAD if missing).
    """
    if branch is not None:
        exists = git(workdir, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False)
        git(workdir, "checkout", "--quiet", *([] if exists else ["-b"]), branch)
    target = workdir / path
    if content is None:
        git(workdir, "rm", "--quiet", "--", path)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        git(workdir, "add", "--", path)
    git(workdir, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(workdir, "rev-parse", "HEAD")


def push(workdir: Path, *refspecs: str, remote: str = "origin", force: bool = False) -> None:
    """git push from a work clone (e.g. push(work, "main"), push(work, ":gone"))."""
    git(workdir, "push", "--quiet", *(["--force"] if force else []), remote, *refspecs)


def ref_sha(repo: Path, ref: str) -> str | None:
    """sha a fully qualified ref points at, or None."""
    out = git(repo, "rev-parse", "--verify", "-q", ref, check=False)
    return out or None


def branch_sha(repo: Path, branch: str) -> str | None:
    """sha of refs/heads/<branch>, or None."""
    return ref_sha(repo, f"refs/heads/{branch}")


def list_refs(repo: Path, prefix: str = "refs/") -> dict[str, str]:
    """refname -> sha for every ref under `prefix`."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    refs: dict[str, str] = {}
    for line in out.splitlines():
        name, sha = line.split(" ")
        refs[name] = sha
    return refs


def commit_to(repo: Path, branch: str, path: str, content: str | None, message: str, scratch: Path) -> str:
    """Add a commit on `branch` of any repository (bare too) via a scratch clone; return sha.

    The branch is created from the repository's HEAD if it does not exist yet.
    """
    if scratch.exists():
        git(scratch, "fetch", "--quiet", "origin")
    else:
        work_clone(repo, scratch)
    has_branch = ref_sha(repo, f"refs/heads/{branch}") is not None
    start = f"origin/{branch}" if has_branch else "HEAD"
    git(scratch, "checkout", "--quiet", "-B", branch, start)
    sha = make_commit(scratch, path, content, message)
    git(scratch, "push", "--quiet", "origin", f"{branch}:refs/heads/{branch}")
    return sha


def fast_import(repo: Path, branch: str, files: int, message: str = "many files") -> str:
    """Commit `files` generated files on a new `branch` in one go (git fast-import); return sha."""
    lines = [f"commit refs/heads/{branch}", "committer T <t@example.com> 1704110400 +0000"]
    data = message.encode()
    lines.append(f"data {len(data)}")
    lines.append(message)
    for n in range(files):
        blob = f"file {n}\n" + "x" * (n % 97) + "\n"
        lines.append(f"M 644 inline files/{n:05d}.txt")
        lines.append(f"data {len(blob.encode())}")
        lines.append(blob)
    git(repo, "fast-import", "--quiet", input="\n".join(lines) + "\n")
    return git(repo, "rev-parse", f"refs/heads/{branch}")
