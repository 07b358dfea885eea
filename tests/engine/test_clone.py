"""Creating, checking and removing bare clones; remotes; credentials over smart HTTP."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.engine.conftest import TEST_PROTOCOLS, Forge
from tests.support.git_http import GitHttpServer
from tests.support.repos import fast_import, file_url, git, init_forge, list_refs, work_clone
from workers.git import Clone, Credential, GitConfig, GitError


def test_create_over_file_url(clone: Clone, forge: Forge) -> None:
    assert clone.exists() and clone.is_healthy()
    assert git(clone.path, "rev-parse", "--is-bare-repository") == "true"
    assert git(clone.path, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(clone.path, "config", "gc.autoDetach") == "false"
    assert git(clone.path, "config", "core.logAllRefUpdates") == "always"
    assert git(clone.path, "config", "remote.origin.fetch") == "+refs/heads/*:refs/remotes/origin/*"
    main = clone.branch("main")
    assert main.sha == forge.sha("refs/heads/main")
    assert (main.upstream, main.ahead, main.behind) == ("origin/main", 0, 0)
    assert clone.default_branch() == "main"
    assert clone.remotes() == {"origin": forge.url}
    # only the default branch is local; local tags are never created
    assert set(list_refs(clone.path, "refs/heads")) == {"refs/heads/main"}
    assert list_refs(clone.path, "refs/tags") == {}


def test_create_uses_remote_head(tmp_path: Path, forge: Forge, config: GitConfig) -> None:
    forge.commit("dev.txt", "dev\n", "dev work", branch="develop")
    git(forge.path, "symbolic-ref", "HEAD", "refs/heads/develop")
    clone = Clone(tmp_path / "c.git", config)
    assert clone.create(forge.url) == "develop"
    assert clone.default_branch() == "develop"
    assert git(clone.path, "symbolic-ref", "HEAD") == "refs/heads/develop"
    assert [b.name for b in clone.refs().branches] == ["develop"]


def test_create_falls_back_when_remote_head_dangles(tmp_path: Path, forge: Forge, config: GitConfig) -> None:
    git(forge.path, "symbolic-ref", "HEAD", "refs/heads/nothing-here")
    forge.commit("x", "x\n", "x", branch="aaa")
    clone = Clone(tmp_path / "c.git", config)
    assert clone.create(forge.url) == "main"


def test_create_from_empty_remote(tmp_path: Path, config: GitConfig) -> None:
    empty = init_forge(tmp_path / "empty.git")
    clone = Clone(tmp_path / "deep" / "er" / "c.git", config)
    assert clone.create(file_url(empty)) is None  # not known till origin has a branch
    assert clone.is_healthy()
    assert clone.refs().branches == []
    assert clone.default_branch() is None
    assert git(clone.path, "symbolic-ref", "HEAD") == "refs/heads/main"


def test_create_failure_removes_partial_clone(tmp_path: Path, config: GitConfig) -> None:
    clone = Clone(tmp_path / "c.git", config)
    with pytest.raises(GitError) as err:
        clone.create(file_url(tmp_path / "no-such-repo.git"))
    assert err.value.code == "not_found"
    assert err.value.returncode not in (None, 0)
    assert err.value.command[0] == "git" and "fetch" in err.value.command
    assert not clone.exists()


def test_create_refuses_non_empty_path(tmp_path: Path, forge: Forge, config: GitConfig) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(GitError) as err:
        Clone(target, config).create(forge.url)
    assert err.value.code == "invalid"
    assert (target / "keep.txt").read_text() == "mine"


def test_create_refuses_disallowed_protocol(tmp_path: Path, forge: Forge) -> None:
    clone = Clone(tmp_path / "c.git", GitConfig())  # https and ssh only
    with pytest.raises(GitError) as err:
        clone.create(forge.url)
    assert err.value.code == "invalid"
    assert not clone.exists()


def test_progress_is_reported(tmp_path: Path, config: GitConfig) -> None:
    big = init_forge(tmp_path / "big.git")
    fast_import(big, "main", 600)
    calls: list[tuple[str, int]] = []
    clone = Clone(tmp_path / "c.git", config)
    clone.create(file_url(big), progress=lambda phase, pct: calls.append((phase, pct)))
    receiving = [pct for phase, pct in calls if phase == "Receiving objects"]
    assert receiving and receiving[-1] == 100
    assert all(0 <= pct <= 100 for _, pct in calls)


def test_remove_is_idempotent(clone: Clone) -> None:
    clone.remove()
    assert not clone.exists()
    clone.remove()


def test_corrupt_head_detected_and_moved_aside(clone: Clone) -> None:
    (clone.path / "HEAD").write_text("garbage\n")
    assert not clone.is_healthy()
    moved = clone.move_aside()
    assert moved.exists() and not clone.exists()
    assert moved.name.startswith("1.git.corrupt-")
    assert moved.parent == clone.path.parent


def test_missing_objects_detected(clone: Clone) -> None:
    objects = clone.path / "objects"
    for child in objects.iterdir():
        if child.name not in ("info",):
            shutil.rmtree(child)
    (objects / "pack").mkdir()
    assert not clone.is_healthy()


def test_missing_clone_is_not_healthy(tmp_path: Path, config: GitConfig) -> None:
    assert not Clone(tmp_path / "nothing.git", config).is_healthy()


def test_remotes_add_set_url_remove(clone: Clone, forge: Forge, tmp_path: Path) -> None:
    fork = init_forge(tmp_path / "fork.git")
    git(forge.work, "push", "--quiet", str(fork), "main:refs/heads/main", "main:refs/heads/patch")
    git(forge.work, "tag", "fork-tag")
    git(forge.work, "push", "--quiet", str(fork), "fork-tag")
    clone.add_remote("fork", file_url(tmp_path / "wrong.git"))
    with pytest.raises(GitError) as err:
        clone.add_remote("fork", file_url(fork))
    assert err.value.code == "remote_exists"
    clone.set_remote_url("fork", file_url(fork))
    assert clone.remotes() == {"origin": forge.url, "fork": file_url(fork)}
    clone.fetch("fork")
    clone.create_branch("patch", "fork/patch")
    assert clone.branch("patch").upstream == "fork/patch"
    assert list_refs(clone.path, "refs/remote-tags/fork")

    clone.remove_remote("fork")
    assert clone.remotes() == {"origin": forge.url}
    assert list_refs(clone.path, "refs/remotes/fork") == {}
    assert list_refs(clone.path, "refs/remote-tags/fork") == {}
    assert clone.branch("patch").upstream is None
    assert git(clone.path, "config", "--get-regexp", "^branch\\.patch\\.", check=False) == ""
    with pytest.raises(GitError) as err:
        clone.remove_remote("fork")
    assert err.value.code == "remote_not_found"
    with pytest.raises(GitError) as err:
        clone.set_remote_url("fork", file_url(fork))
    assert err.value.code == "remote_not_found"


def _scan_for(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_http_clone_and_fetch_with_basic_auth(tmp_path: Path, forge: Forge) -> None:
    password = "s3cret-Pa55word"
    with GitHttpServer(forge.path.parent, username="alice", password=password) as server:
        url = server.url(forge.path.name)
        good = GitConfig(
            allow_protocols=TEST_PROTOCOLS,
            allow_local_hosts=True,
            credentials={server.netloc: Credential("alice", password)},
            timeout=60,
        )
        clone = Clone(tmp_path / "http" / "c.git", good)
        assert clone.create(url) == "main"
        assert clone.branch("main").sha == forge.sha("refs/heads/main")
        new = forge.commit("more.txt", "more\n", "more")
        assert [m.ref for m in clone.fetch("origin").updated] == ["refs/heads/main"]
        assert clone.refs().remote_branches[0].sha == new
        clone.create_branch("topic", "main")
        assert clone.push("topic").outcome == "created"
        assert forge.sha("refs/heads/topic") == clone.branch("topic").sha
        assert ("POST", "/project.git/git-receive-pack", 200) in server.requests
        assert _scan_for(tmp_path / "http", password.encode()) == []
        assert password not in git(clone.path, "config", "--list")

        for creds in ({server.netloc: Credential("alice", "wrong-" + password)}, {}):
            bad = GitConfig(allow_protocols=TEST_PROTOCOLS, allow_local_hosts=True, credentials=creds, timeout=60)
            failed = Clone(tmp_path / "http" / "bad.git", bad)
            with pytest.raises(GitError) as err:
                failed.create(url)
            assert err.value.code == "auth", err.value.stderr
            text = " ".join([err.value.message, *err.value.command, err.value.stdout, err.value.stderr])
            assert password not in text
            assert not failed.exists()


def test_http_clone_without_auth(tmp_path: Path, forge: Forge, config: GitConfig) -> None:
    with GitHttpServer(forge.path.parent) as server:
        clone = Clone(tmp_path / "c.git", config)
        assert clone.create(server.url(forge.path.name)) == "main"


def test_credentials_only_for_their_host(tmp_path: Path, forge: Forge) -> None:
    with GitHttpServer(forge.path.parent, username="bob", password="pw") as server:
        other = GitConfig(
            allow_protocols=TEST_PROTOCOLS,
            allow_local_hosts=True,
            credentials={"example.com": Credential("bob", "pw")},
            timeout=60,
        )
        with pytest.raises(GitError) as err:
            Clone(tmp_path / "c.git", other).create(server.url(forge.path.name))
        assert err.value.code == "auth"


def test_network_error_redacts_userinfo(tmp_path: Path, config: GitConfig) -> None:
    with GitHttpServer(tmp_path) as server:
        port = server.netloc.rsplit(":", 1)[1]
    url = f"http://someone@127.0.0.1:{port}/x.git"  # server stopped: connection refused
    clone = Clone(tmp_path / "c.git", config)
    with pytest.raises(GitError) as err:
        clone.create(url)
    assert err.value.code == "network", err.value.stderr
    assert "someone" not in err.value.message + err.value.stderr + " ".join(err.value.command)


def test_http_gzip_and_chunked_bodies(tmp_path: Path, forge: Forge) -> None:
    main = forge.sha("refs/heads/main")
    # many wants make git gzip the fetch request; a big incompressible push goes chunked
    git(forge.path, "update-ref", "--stdin", input="".join(f"create refs/heads/b{n:03d} {main}\n" for n in range(80)))
    with GitHttpServer(forge.path.parent) as server:
        config = GitConfig(allow_protocols=TEST_PROTOCOLS, allow_local_hosts=True, timeout=60)
        clone = Clone(tmp_path / "c.git", config)
        clone.create(server.url(forge.path.name))
        assert len(clone.refs().remote_branches) == 81
        scratch = work_clone(clone.path, tmp_path / "scratch")
        (scratch / "blob.bin").write_bytes(os.urandom(2 * 1024 * 1024))
        git(scratch, "add", "blob.bin")
        git(scratch, "commit", "--quiet", "-m", "big")
        git(scratch, "push", "--quiet", "origin", "HEAD:refs/heads/main")
        clone.forget()  # plain git wrote to the clone behind its back
        result = clone.push("main")
        assert result.outcome == "pushed"
        assert forge.sha("refs/heads/main") == result.after
        assert {"gzip", "chunked"} <= server.body_encodings


def test_protocol_allowlist_enforced_at_run_time(clone: Clone) -> None:
    strict = Clone(clone.path, GitConfig())  # https and ssh only; origin is file://
    with pytest.raises(GitError) as err:
        strict.fetch("origin")
    assert err.value.code == "invalid"
