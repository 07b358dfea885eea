"""What plain git says of a clone's history, in the API's words, to check the API against."""

from __future__ import annotations

from pathlib import Path

from tests.support.repos import git

FIELDS = "%H%x1f%P%x1f%s%x1f%an%x1f%ae%x1f%aI%x1f%cI"


def clone_of(data_dir: Path, url: str) -> Path:
    """gitferry's clone of the repo at `url` (the one whose origin is `url`)."""
    for path in sorted((data_dir / "repos").glob("*.git")):
        if git(path, "config", "--get", "remote.origin.url", check=False) == url:
            return path
    raise AssertionError(f"no clone of {url} under {data_dir}")


def git_log(clone: Path, *revs: str) -> list[dict[str, object]]:
    """What `git log` says, in the API's words."""
    out = git(clone, "log", f"--format={FIELDS}", *revs, "--")
    commits = []
    for line in filter(None, out.split("\n")):
        sha, parents, subject, name, email, authored, committed = line.split("\x1f")
        commits.append({"sha": sha, "parents": parents.split(), "subject": subject,
                        "author": {"name": name, "email": email, "date": authored}, "committed_at": committed})
    return commits


def left_right(clone: Path, base: str, head: str) -> tuple[list[str], list[str]]:
    """(ahead, behind) shas as `git rev-list --left-right` lists them."""
    out = git(clone, "rev-list", "--left-right", f"{base}...{head}").split()
    return [s[1:] for s in out if s[0] == ">"], [s[1:] for s in out if s[0] == "<"]


def git_commit_in(clone: Path, branch: str, message: str) -> str:
    """A commit made on `branch` of the bare clone with plain git (what a pull or merge would add)."""
    tree = git(clone, "rev-parse", f"{branch}^{{tree}}")
    sha = git(clone, "commit-tree", tree, "-p", branch, "-m", message)
    git(clone, "update-ref", f"refs/heads/{branch}", sha)
    return sha
