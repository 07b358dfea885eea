"""Names and URLs from outside are refused before git sees them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from workers.git import Clone, GitConfig, GitError, validate

BAD_BRANCHES = [
    "-x",
    "--upload-pack=evil",
    "a..b",
    "refs/heads/x",
    "HEAD",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a/",
    "/a",
    "a//b",
    "a.",
    "a.lock",
    ".a",
    "a/.b",
    "a@{1}",
    "@",
    "",
    "a\nb",
]
GOOD_BRANCHES = ["main", "feature/x", "release-1.2", "user@host", "ä", "a.b/c_d"]


@pytest.mark.parametrize("name", BAD_BRANCHES)
def test_bad_branch_names_are_invalid(name: str) -> None:
    with pytest.raises(GitError) as err:
        validate.branch_name(name)
    assert err.value.code == "invalid"


@pytest.mark.parametrize("name", GOOD_BRANCHES)
def test_good_branch_names_pass(name: str) -> None:
    assert validate.branch_name(name) == name


def test_refname_rules_agree_with_git() -> None:
    for name in BAD_BRANCHES + GOOD_BRANCHES:
        if name in ("refs/heads/x", "HEAD", "@", "-x", "--upload-pack=evil", "") or "\n" in name:
            continue  # policy choices of ours, or not passable as an argument
        ref = "refs/heads/" + name
        git_says = subprocess.run(["git", "check-ref-format", ref]).returncode == 0
        assert validate.refname_ok(ref) == git_says, name


@pytest.mark.parametrize("name", ["-x", "--upload-pack=evil", "a/b", "a..b", "", "a b", ".x"])
def test_bad_remote_names_are_invalid(name: str) -> None:
    with pytest.raises(GitError) as err:
        validate.remote_name(name)
    assert err.value.code == "invalid"


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        ("https://github.com/a/b.git", "https"),
        ("ssh://git@github.com/a/b.git", "ssh"),
        ("git@github.com:a/b.git", "ssh"),
        ("file:///srv/x.git", "file"),
        ("/srv/x.git", "file"),
        ("ext::sh -c touch% /tmp/pwned", "ext"),
        ("HTTP://example.com/x", "http"),
    ],
)
def test_url_protocol(url: str, protocol: str) -> None:
    assert validate.url_protocol(url) == protocol


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch /tmp/pwned",
        "-oProxyCommand=evil",
        "ext::sh -c touch% /tmp/pwned",
        "file:///srv/x.git",
        "/srv/x.git",
        "http://example.com/x.git",
        "https://user:secret@example.com/x.git",
        "https://example.com/x.git\nfoo",
    ],
)
def test_bad_urls_are_invalid(url: str) -> None:
    with pytest.raises(GitError) as err:
        validate.remote_url(url, ("https", "ssh"))
    assert err.value.code == "invalid"
    assert "secret" not in err.value.message


def test_url_host_is_credential_key() -> None:
    assert validate.url_host("https://GitHub.com/a/b") == "github.com"
    assert validate.url_host("http://u@127.0.0.1:8080/a") == "127.0.0.1:8080"
    assert validate.url_host("git@github.com:a/b") == "github.com"
    assert validate.url_host("/srv/x.git") is None


@pytest.fixture
def never_git(tmp_path: Path) -> Clone:
    """A clone whose git binary does not exist: any git call would fail with code 'git'."""
    return Clone(
        tmp_path / "never.git",
        GitConfig(allow_protocols=("file", "https"), git_binary=str(tmp_path / "no-git")),
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_branch("-x", "main"),
        lambda c: c.create_branch("refs/heads/x", "main"),
        lambda c: c.create_branch("x", "--upload-pack=evil"),
        lambda c: c.branch("a..b"),
        lambda c: c.fetch("--upload-pack=evil"),
        lambda c: c.fetch("-x"),
        lambda c: c.add_remote("--upload-pack=evil", "https://example.com/x"),
        lambda c: c.add_remote("fork", "--upload-pack=evil"),
        lambda c: c.add_remote("fork", "ext::sh -c evil"),
        lambda c: c.set_upstream("main", "-x", "main"),
        lambda c: c.set_upstream("main", "origin", "a..b"),
        lambda c: c.update_branch("main", "origin", "-x", "ff-only"),
        lambda c: c.update_branch("main", "origin", "main", "octopus"),
        lambda c: c.pull("-x", "rebase"),
        lambda c: c.push("-x"),
        lambda c: c.push("main", remote="--upload-pack=evil"),
        lambda c: c.push("main", remote_branch="--force"),
        lambda c: c.default_branch("-x"),
        lambda c: c.create("--upload-pack=evil"),
    ],
)
def test_invalid_input_refused_before_git_runs(never_git: Clone, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GitError) as err:
        call(never_git)
    assert err.value.code == "invalid", err.value.message
