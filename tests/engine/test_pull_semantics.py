"""Pull as plain `git pull` does it, in the cases gitferry used to get wrong: an upstream that
rewound, merge messages, conflicts moved aside, the commit a rebase stopped at; and dry runs.
Each is checked against plain git on a normal clone of the same history with the same URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.engine.conftest import Forge
from tests.engine.test_pull import PLAIN_PULL, assert_no_leftovers, diverge, shape
from tests.support.repos import git, list_refs, make_commit, work_clone
from workers.git import Clone
from workers.git.pull import fetch_head_url

MINE = ("mine.txt", "ours\n", "our own work")


def leak_and_rewind(clone: Clone, forge: Forge, tmp_path: Path, *, on_top: bool) -> Path:
    """Upstream gets a commit (a leaked secret) that both clones fetch and take; upstream then
    force-pushes it away. With `on_top`, both have a commit of their own on it."""
    plain = diverge(clone, forge, tmp_path, [], [("secret.txt", "hunter2\n", "oops, a secret")])
    git(plain, "merge", "--quiet", "--ff-only", "origin/main")
    if on_top:
        make_commit(plain, *MINE)
    git(plain, "push", "--quiet", "--force", str(clone.path), "main:refs/heads/main")
    clone.forget()
    git(forge.work, "reset", "--quiet", "--hard", "HEAD~1")
    git(forge.work, "push", "--quiet", "--force", "origin", "main")
    clone.fetch("origin")
    git(plain, "fetch", "--quiet", "origin")
    return plain


def tree_files(repo: Path, rev: str) -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", rev).split()


@pytest.mark.parametrize("on_top", [False, True], ids=["not-behind", "own-commit-on-top"])
def test_rebase_pull_drops_what_the_upstream_rewound_away(
    clone: Clone, forge: Forge, tmp_path: Path, on_top: bool
) -> None:
    plain = leak_and_rewind(clone, forge, tmp_path, on_top=on_top)
    main = clone.branch("main")
    assert (main.ahead, main.behind) == (2 if on_top else 1, 0)  # not behind: only the secret is extra

    result = clone.pull("main", "rebase")
    git(plain, *PLAIN_PULL["rebase"])
    assert result.outcome == "rebased"
    assert "secret.txt" not in tree_files(clone.path, "refs/heads/main")
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
    if not on_top:
        assert result.after == git(plain, "rev-parse", "HEAD") == forge.sha("refs/heads/main")
    else:
        subjects = git(clone.path, "log", "--format=%s|%an", "refs/heads/main").splitlines()
        assert subjects == git(plain, "log", "--format=%s|%an").splitlines()
        assert subjects[0] == "our own work|Test Author"
    assert_no_leftovers(clone)


@pytest.mark.parametrize("strategy", ["ff-or-merge", "ff-only"])
def test_merge_pulls_keep_what_the_upstream_rewound_away_as_git_does(
    clone: Clone, forge: Forge, tmp_path: Path, strategy: str
) -> None:
    plain = leak_and_rewind(clone, forge, tmp_path, on_top=False)
    before = clone.branch("main").sha
    assert clone.pull("main", strategy).outcome == "up-to-date"
    git(plain, *PLAIN_PULL[strategy])
    assert git(plain, "rev-parse", "HEAD") == before == clone.branch("main").sha


def test_a_clone_made_without_reflogs_keeps_them_once_opened(
    clone: Clone, forge: Forge, tmp_path: Path
) -> None:
    git(clone.path, "config", "--unset", "core.logAllRefUpdates")
    for log in (clone.path / "logs").rglob("*"):
        if log.is_file():
            log.unlink()
    clone.clear_leftovers()  # what every job does first, under the clone's lock
    assert git(clone.path, "config", "core.logAllRefUpdates") == "always"
    plain = leak_and_rewind(clone, forge, tmp_path, on_top=True)
    result = clone.pull("main", "rebase")
    git(plain, *PLAIN_PULL["rebase"])
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
    assert "secret.txt" not in tree_files(clone.path, "refs/heads/main")
    assert result.outcome == "rebased"


def track(clone: Clone, plain: Path, forge: Forge, branch: str) -> None:
    """`branch` on the forge, in the clone and in the plain clone, each tracking origin/<branch>."""
    git(forge.work, "push", "--quiet", "origin", f"main:refs/heads/{branch}")
    clone.fetch("origin")
    clone.create_branch(branch, f"origin/{branch}")
    git(plain, "fetch", "--quiet", "origin")
    git(plain, "checkout", "--quiet", "-b", branch, "--track", f"origin/{branch}")


@pytest.mark.parametrize("branch", ["main", "master", "feature/x"])
def test_merge_message_is_git_pulls(clone: Clone, forge: Forge, tmp_path: Path, branch: str) -> None:
    plain = work_clone(forge.url, tmp_path / "plain")
    if branch != "main":
        track(clone, plain, forge, branch)
    make_commit(plain, "local.txt", "mine\n", "local work")
    git(plain, "push", "--quiet", "--force", str(clone.path), f"{branch}:refs/heads/{branch}")
    clone.forget()
    forge.commit("up.txt", "up\n", "upstream work", branch=branch)
    clone.fetch("origin")
    git(plain, *PLAIN_PULL["ff-or-merge"])

    result = clone.pull(branch, "ff-or-merge")
    assert result.outcome == "merged"
    message = git(clone.path, "log", "-1", "--format=%B", result.after)
    assert message == git(plain, "log", "-1", "--format=%B")
    assert message.endswith(f" into {branch}") == (branch == "feature/x")
    assert shape(clone.path, f"refs/heads/{branch}") == shape(plain, "HEAD")


def test_fetch_head_url_leaves_out_what_git_leaves_out() -> None:
    assert fetch_head_url("https://user:pw@example.com/acme/widgets.git/") == "https://example.com/acme/widgets"
    assert fetch_head_url("git@example.com:acme/widgets.git") == "example.com:acme/widgets"
    assert fetch_head_url("ssh://git@example.com:22/acme/w") == "ssh://example.com:22/acme/w"
    assert fetch_head_url("file:///srv/a.git") == "file:///srv/a"


def symlink_commit(work: Path, path: str, target: str, message: str) -> None:
    (work / path).unlink(missing_ok=True)
    os.symlink(target, work / path)
    git(work, "add", "--", path)
    git(work, "commit", "--quiet", "-m", message)


def unmerged(plain: Path) -> list[str]:
    return sorted(git(plain, "diff", "--name-only", "--diff-filter=U").splitlines())


CONFLICT_SHAPES = {
    # name: (local changes, upstream changes); a callable makes a symlink
    "ours-file-theirs-dir": ([("d", "a file\n", "d is a file")], [("d/x", "in a dir\n", "d is a dir")]),
    "ours-dir-theirs-file": ([("d/x", "in a dir\n", "d is a dir")], [("d", "a file\n", "d is a file")]),
    "file-and-symlink": ([("l", "a file\n", "l is a file")], [("l", "->README.md", "l is a link")]),
}


def conflicting(clone: Clone, forge: Forge, tmp_path: Path, name: str) -> Path:
    local, upstream = CONFLICT_SHAPES[name]
    plain = work_clone(forge.url, tmp_path / "plain")
    for change in local:
        make_commit(plain, *change)
    git(plain, "push", "--quiet", "--force", str(clone.path), "main:refs/heads/main")
    clone.forget()
    for path, content, message in upstream:
        if content is not None and content.startswith("->"):
            symlink_commit(forge.work, path, content[2:], message)
            git(forge.work, "push", "--quiet", "origin", "main")
        else:
            forge.commit(path, content, message)
    clone.fetch("origin")
    git(plain, "fetch", "--quiet", "origin")
    return plain


@pytest.mark.parametrize("name", sorted(CONFLICT_SHAPES))
@pytest.mark.parametrize("strategy", ["ff-or-merge", "rebase"])
def test_conflicts_are_named_as_git_names_them(
    clone: Clone, forge: Forge, tmp_path: Path, name: str, strategy: str
) -> None:
    plain = conflicting(clone, forge, tmp_path, name)
    result = clone.pull("main", strategy)
    git(plain, *PLAIN_PULL[strategy], check=False)
    assert result.outcome == "conflict"
    assert result.conflicts == unmerged(plain)
    assert not any(p.endswith("~" + result.before) for p in result.conflicts)
    if strategy == "rebase":
        stopped = git(plain, "log", "-1", "--format=%H|%s", "REBASE_HEAD").split("|")
        assert result.conflict_commit is not None
        assert [result.conflict_commit.sha, result.conflict_commit.subject] == stopped
        assert result.to_dict()["conflict_commit"] == {"sha": stopped[0], "subject": stopped[1]}
    else:
        assert result.conflict_commit is None and "conflict_commit" not in result.to_dict()
    assert_no_leftovers(clone)


def everything(clone: Clone) -> dict[str, object]:
    """Every ref, and every file outside objects/ that a pull could change."""
    files = {p.relative_to(clone.path).as_posix() for p in clone.path.rglob("*") if p.is_file()}
    kept = sorted(f for f in files if not f.startswith(("objects/", "logs/")) and f != "FETCH_HEAD")
    logs = {f: (clone.path / f).read_text() for f in files if f.startswith("logs/")}
    return {"refs": list_refs(clone.path), "files": kept, "logs": logs, "config": (clone.path / "config").read_text()}


DRY_CASES = {
    "fast-forwarded": ([], [("up.txt", "theirs\n", "upstream work")]),
    "up-to-date": ([("mine.txt", "ours\n", "ours")], []),
    "merged": ([("mine.txt", "ours\n", "ours")], [("up.txt", "theirs\n", "upstream work")]),
    "conflict": ([("README.md", "ours\n", "ours")], [("README.md", "theirs\n", "theirs")]),
}


@pytest.mark.parametrize("strategy", ["ff-or-merge", "ff-only", "rebase"])
@pytest.mark.parametrize("case", sorted(DRY_CASES))
def test_dry_run_tells_what_the_pull_would_do_and_changes_nothing(
    clone: Clone, forge: Forge, tmp_path: Path, strategy: str, case: str
) -> None:
    local, upstream = DRY_CASES[case]
    plain = diverge(clone, forge, tmp_path, local, [])
    for path, content, message in upstream:  # pushed upstream, not yet fetched by either clone
        forge.commit(path, content, message)
    clone.forget()
    seen = everything(clone)
    dry = clone.preview_pull("main", strategy)
    assert everything(clone) == seen
    git(plain, "fetch", "--quiet", "origin")
    incoming = git(plain, "log", "--format=%H|%s", "origin/main", "^main").splitlines()

    clone.fetch("origin")
    real = clone.pull("main", strategy)
    assert (dry.outcome, dry.conflicts, dry.conflict_commit) == (real.outcome, real.conflicts, real.conflict_commit)
    assert dry.outcome == {"ff-only": {"merged": "diverged", "conflict": "diverged"}, "rebase": {"merged": "rebased"}
                           }.get(strategy, {}).get(case, case)
    assert (dry.before, dry.after, dry.dry_run) == (real.before, real.before, True)
    assert [f"{c.sha}|{c.subject}" for c in dry.incoming or []] == incoming
    assert dry.incoming_count == len(incoming)
    shown = {"outcome", "before", "after", "conflicts", "dry_run", "incoming", "incoming_count"}
    assert set(dry.to_dict()) == shown | ({"conflict_commit"} if dry.conflict_commit else set())


def test_dry_run_after_the_upstream_rewound(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    plain = leak_and_rewind(clone, forge, tmp_path, on_top=True)
    seen = everything(clone)
    dry = clone.preview_pull("main", "rebase")
    assert everything(clone) == seen
    assert (dry.outcome, dry.incoming, dry.incoming_count) == ("rebased", [], 0)
    git(plain, *PLAIN_PULL["rebase"])
    assert clone.pull("main", "rebase").outcome == "rebased"
    assert shape(clone.path, "refs/heads/main") == shape(plain, "HEAD")
