"""`gitferry demo`: a small local forge of bare repos (an origin, two forks with diverged branches,
a tag), added to gitferry as a repo and its remotes, so a newcomer sees ahead/behind, remotes,
pull and push without a network. Running it again reuses what exists."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from service.domain.records import Job, Repo
from service.domain.types import JobKind, fetch_coalesce_key
from service.jobs import JobQueue
from service.store import NameTaken, Store

REPO = "demo/widgets"
FORKS = ("alice", "bob")
TOKEN = "demo"
# What the forge holds (origin moved on after the forks were made, and each fork has work of its own):
#   origin: main (4 commits), feature/login (2 commits past main's second), tag v1.0
#   alice:  main with a commit origin has not, and without origin's last commit (ahead 1, behind 1)
#   bob:    feature/login with two commits origin has not, and without origin's last one on it
# The repo's local feature/login tracks bob's, so the branch listing shows it ahead 1, behind 2.


def build_forge(forge: Path) -> None:
    """Make the forge's bare repos with plain git (this plays the forge, not gitferry), unless made."""
    if (forge / "origin.git" / "gitferry-demo").exists():
        return
    forge.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "Demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid",
           "GIT_COMMITTER_NAME": "Demo", "GIT_COMMITTER_EMAIL": "demo@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)

        def git(*args: str, cwd: Path = work) -> None:
            subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)

        def commit(message: str) -> None:
            with (work / "NOTES.md").open("a") as notes:
                notes.write(message + "\n")
            git("add", "NOTES.md")
            git("commit", "-q", "-m", message)

        git("init", "-q", "-b", "main")
        for message in ("Start the widgets", "Add a widget"):
            commit(message)
        git("tag", "v1.0")
        git("switch", "-q", "-c", "feature/login")
        commit("Sketch the login form")
        git("switch", "-q", "main")
        commit("Document the widgets")
        for name in ("origin", *FORKS):
            git("init", "-q", "--bare", "-b", "main", str(forge / f"{name}.git"))
            git("push", "-q", "--tags", str(forge / f"{name}.git"), "main", "feature/login")
        commit("Fix a typo")  # origin moves on after the forks were made
        git("switch", "-q", "feature/login")
        commit("Check the password")
        git("push", "-q", str(forge / "origin.git"), "main", "feature/login")
        git("reset", "-q", "--hard", "HEAD~1")
        for message in ("Remember the user", "Add a sign-out link"):
            commit(message)
        git("push", "-q", "-f", str(forge / "bob.git"), "feature/login")
        git("switch", "-q", "main")
        git("reset", "-q", "--hard", "HEAD~1")
        commit("Make the widgets blue")
        git("push", "-q", "-f", str(forge / "alice.git"), "main")
    (forge / "origin.git" / "gitferry-demo").write_text("made by gitferry demo\n")


@dataclass(frozen=True)
class Added:
    """What a run of the demo added: the repo, its clone job (None when it existed) and the remotes."""

    repo: Repo
    clone: Job | None
    remotes: list[str]


def add_to_gitferry(forge: Path, store: Store, jobs: JobQueue) -> Added:
    """The origin as a repo (its clone queued, as the API does) and the forks as its remotes;
    what existed is reused."""
    clone = None
    repo = store.repos.by_name(REPO)
    if repo is None:
        url = (forge / "origin.git").as_uri()
        try:
            repo = store.repos.create(REPO, url, pull_strategy=None, fetch_interval=None, protected_branches=[])
            clone = jobs.add(repo, JobKind.CLONE, {"url": url})
        except NameTaken:  # another demo made it at the same moment
            repo = store.repos.by_name(REPO)
            assert repo is not None
    added = []
    for fork in FORKS:
        if store.repos.remote(repo.id, fork) is None:
            with contextlib.suppress(NameTaken):
                store.repos.add_remote(repo.id, fork, (forge / f"{fork}.git").as_uri())
                added.append(fork)
    return Added(repo, clone, added)


def fetch_and_track(store: Store, jobs: JobQueue, added: Added, timeout: float = 60) -> bool:
    """Once the clone ended, fetch the remotes just added (as the API does when one is added);
    on a new clone, a local feature/login tracking bob's: the diverged branch the listing shows
    with ahead and behind. False if the clone did not end in time."""
    repo = added.repo
    deadline = time.monotonic() + timeout
    while added.clone and not (store.jobs.get(added.clone.id) or added.clone).finished:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    # One after the other: jobs of one repo queued together may run in any order.
    for fork in added.remotes:
        jobs.add(repo, JobKind.FETCH, {"remote": fork, "prune": True},
                 coalesce_key=fetch_coalesce_key(repo.id, fork), wait=30)
    if added.clone:
        jobs.add(repo, JobKind.BRANCH, {"name": "feature/login", "start_point": "origin/feature/login",
                                        "track": False}, wait=30)
        jobs.add(repo, JobKind.UPSTREAM, {"branch": "feature/login", "remote": "bob",
                                          "remote_branch": "feature/login"}, wait=30)
    return True


def sign_in_token(store: Store) -> str:
    """A fresh admin token named "demo" (the one of an earlier run is replaced: tokens are kept
    hashed, so it cannot be shown again)."""
    store.tokens.delete(TOKEN)
    return store.tokens.create(TOKEN, "admin")
