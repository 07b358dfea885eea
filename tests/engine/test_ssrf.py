"""With local hosts off, the engine connects to no spelling of this machine or of a private
network: refused when a remote is added, and again where git is started, should a URL in a
clone's config have skipped the first check."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from tests.support.repos import git
from tests.support.ssrf import Listener, fullwidth, ideographic, resolver, spellings
from workers.git import Clone, GitConfig, GitError
from workers.git.fetch import remote_default_branch
from workers.git.refs import require_remote
from workers.git.runner import Runner

STRICT = GitConfig(allow_protocols=("https", "ssh", "file"), timeout=30, resolve=resolver())


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with Listener() as found:
        yield found


def _refused(call: Callable[[], object]) -> GitError:
    with pytest.raises(GitError) as err:
        call()
    return err.value


def test_no_spelling_of_a_local_host_is_cloned(tmp_path: Path, listener: Listener) -> None:
    wrong = {}
    for n, case in enumerate(spellings(listener.port)):
        clone = Clone(tmp_path / f"{n}.git", STRICT)
        error = _refused(partial(clone.create, case.url))
        if error.code != case.code:
            wrong[case.url] = (error.code, error.message)
        assert not clone.exists()
    assert wrong == {}
    assert listener.connections == 0


def _with_origin(clone: Clone, url: str) -> Clone:
    """`clone` with its origin pointing at `url` behind the engine's back, and opened strict."""
    git(clone.path, "config", "remote.origin.url", url)
    return Clone(clone.path, STRICT)


def test_where_git_starts_a_url_that_skipped_the_check_is_refused(clone: Clone, listener: Listener) -> None:
    """fetch, push and ls-remote each check the URL again: one written into a clone's config by
    something else, or checked under settings since changed, reaches no local host."""
    wrong = {}
    for case in spellings(listener.port):
        strict = _with_origin(clone, case.url)
        runner = Runner(STRICT, strict.path)
        calls: dict[str, Callable[[], object]] = {
            "fetch": partial(strict.fetch, "origin"),
            "push": partial(strict.push, "main", remote_branch="ssrf"),
            "ls-remote": partial(remote_default_branch, runner, "origin", require_remote(runner, "origin")),
        }
        for name, call in calls.items():
            error = _refused(call)
            if error.code != (case.connect_code or case.code):
                wrong[f"{name} {case.url}"] = (error.code, error.message)
    assert wrong == {}
    assert listener.connections == 0


def test_a_name_from_the_systems_own_hosts_file_is_refused(clone: Clone, listener: Listener) -> None:
    """The real resolver, as a worker has it: a name /etc/hosts gives a loopback address."""
    name = _loopback_name_in_hosts_file()
    if name is None:
        pytest.skip("no name for a loopback address in /etc/hosts besides localhost's")
    strict = Clone(clone.path, replace(STRICT, resolve=socket.getaddrinfo))
    for url in (f"https://{name}:{listener.port}/x.git", f"ssh://git@{name}:{listener.port}/x.git"):
        git(clone.path, "config", "remote.origin.url", url)
        error = _refused(partial(strict.fetch, "origin"))
        assert error.code == "remote_not_allowed" and "127." in error.message, error.message
    assert listener.connections == 0


def _loopback_name_in_hosts_file() -> str | None:
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        address, *names = line.split("#", 1)[0].split() or [""]
        for name in names:
            if address.startswith("127.") and "localhost" not in name and re.fullmatch(r"[a-z0-9-]+", name):
                return name
    return None


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/x.git", "ssh://git@127.0.0.1:{port}/x.git"])
def test_the_listener_hears_git_when_local_hosts_are_allowed(clone: Clone, url: str) -> None:
    """The corpus proves something: git unchecked connects to the listener, over http and ssh."""
    with Listener() as fresh:
        allowed = Clone(clone.path, replace(STRICT, allow_protocols=("http", "https", "ssh", "file"),
                                            allow_local_hosts=True))
        git(clone.path, "config", "remote.origin.url", url.format(port=fresh.port))
        assert _refused(lambda: allowed.fetch("origin")).code == "network"
    assert fresh.connections >= 1


def test_the_corpus_holds_every_spelling_the_issue_named(listener: Listener) -> None:
    """So that none of them is dropped from it by accident."""
    p = listener.port
    named = {f"https://%31%32%37.0.0.1:{p}/x.git", f"ssh://git@%31%32%37.0.0.1:{p}/x.git",
             f"ssh+git://git@%31%32%37.0.0.1:{p}/x.git", "git@vm:x.git", "https://100.64.0.1/x.git",
             f"https://{fullwidth('127.0.0.1')}:{p}/x.git", f"https://{ideographic('127.0.0.1')}:{p}/x.git",
             f"https://127.0.0.1.nip.io:{p}/x.git", f"ssh://-oProxyCommand=nc%20127.0.0.1%20{p}/x.git", "[::1]:x.git"}
    assert named <= {case.url for case in spellings(p)}
