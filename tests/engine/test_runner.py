"""The runner: clean environment, timeouts that kill the whole process group, redaction."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workers.git import Clone, GitConfig, GitError
from workers.git.errors import classify, redact
from workers.git.runner import Runner


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # a zombie waiting for init to reap it is dead


def test_timeout_kills_process_group(tmp_path: Path) -> None:
    fake = tmp_path / "fake-git"
    fake.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {tmp_path}/child.pid\necho $$ > {tmp_path}/main.pid\nwait\n")
    fake.chmod(0o755)
    clone = Clone(tmp_path / "c.git", GitConfig(git_binary=str(fake), timeout=1.0))
    started = time.monotonic()
    with pytest.raises(GitError) as err:
        clone.create("https://example.com/x.git")
    assert time.monotonic() - started < 10
    assert err.value.code == "timeout"
    assert "longer than 1s" in err.value.message
    pids = [int((tmp_path / f"{n}.pid").read_text()) for n in ("main", "child")]
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in pids)
    assert not clone.exists()


def test_timeout_with_progress_reader(tmp_path: Path) -> None:
    fake = tmp_path / "fake-git"
    fake.write_text("#!/bin/sh\nprintf 'Receiving objects:  10%% (1/10)\\r' >&2\nsleep 30\n")
    fake.chmod(0o755)
    runner = Runner(GitConfig(git_binary=str(fake), timeout=1.0))
    seen: list[tuple[str, int]] = []
    with pytest.raises(GitError) as err:
        runner.run(["fetch"], progress=lambda p, n: seen.append((p, n)))
    assert err.value.code == "timeout"
    assert seen == [("Receiving objects", 10)]


def test_environment_is_clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.bare'='oops'")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    runner = Runner(GitConfig(allow_protocols=("file", "https")))
    env = runner.base_env()
    assert "GIT_DIR" not in env and "GIT_CONFIG_PARAMETERS" not in env and "LANG" not in env
    assert env["LC_ALL"] == "C" and env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_ALLOW_PROTOCOL"] == "file:https"
    assert "BatchMode=yes" in env["GIT_SSH_COMMAND"]
    assert "StrictHostKeyChecking=yes" in env["GIT_SSH_COMMAND"]
    assert env["GIT_HTTP_LOW_SPEED_LIMIT"] == "1000" and env["GIT_HTTP_LOW_SPEED_TIME"] == "60"
    out = runner.run(["config", "--list", "--show-origin"], use_git_dir=False, cwd=tmp_path)
    assert "oops" not in out.stdout


def test_git_dir_in_environment_does_not_leak(monkeypatch: pytest.MonkeyPatch, clone: Clone) -> None:
    monkeypatch.setenv("GIT_DIR", "/nonexistent")
    assert clone.is_healthy()
    assert clone.branch("main").upstream == "origin/main"


def test_redact() -> None:
    text = "fatal: unable to access 'https://bob:hunter2@example.com/x.git/': 403"
    assert redact(text) == "fatal: unable to access 'https://***@example.com/x.git/': 403"
    assert redact("token abc123 leaked", ["abc123"]) == "token *** leaked"
    assert redact("ssh://git@host/x") == "ssh://***@host/x"


@pytest.mark.parametrize(
    ("stderr", "code"),
    [
        ("fatal: Authentication failed for 'https://x/'", "auth"),
        ("fatal: could not read Username for 'https://x': terminal prompts disabled", "auth"),
        ("fatal: unable to access 'https://x/': The requested URL returned error: 403", "auth"),
        ("fatal: unable to access 'https://x/': Could not resolve host: x", "network"),
        ("fatal: unable to access 'https://x/': Failed to connect: Connection refused", "network"),
        ("remote: Repository not found.\nfatal: repository 'https://x/' not found", "not_found"),
        ("fatal: '/x' does not appear to be a git repository", "not_found"),
        ("fatal: not a git repository: '/srv/c.git'", "corrupt"),
        ("error: object file .git/objects/ab/cd is empty\nfatal: bad object HEAD", "corrupt"),
        ("fatal: transport 'ext' not allowed", "invalid"),
        ("fatal: something else", "git"),
    ],
)
def test_classify(stderr: str, code: str) -> None:
    assert classify(128, stderr) == code


def test_error_carries_details(clone: Clone) -> None:
    runner = Runner(clone.config, clone.path)
    with pytest.raises(GitError) as err:
        runner.run(["rev-parse", "--verify", "--end-of-options", "no-such-thing"])
    e = err.value
    assert e.code == "git" and e.returncode == 128
    assert e.command[0] == "git" and "rev-parse" in e.command
    assert "Needed a single revision" in e.stderr and "Needed a single revision" in e.message
    assert "\n" not in e.message


def test_pid_helper_sees_live_process() -> None:
    assert not _gone(os.getpid())


def test_git_dies_with_the_worker_that_started_it(tmp_path: Path) -> None:
    """A worker killed mid-job leaves no git behind to race the job's next attempt."""
    fake = tmp_path / "fake-git"
    fake.write_text(f"#!/bin/sh\necho $$ > {tmp_path}/git.pid\nexec sleep 30\n")
    fake.chmod(0o755)
    worker = subprocess.Popen([sys.executable, "-c", (
        "import sys; from workers.git import GitConfig; from workers.git.runner import Runner; "
        f"Runner(GitConfig(git_binary={str(fake)!r}, timeout=60)).run(['fetch'])"
    )], cwd=Path(__file__).resolve().parents[2])
    pid_file = tmp_path / "git.pid"
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and worker.poll() is None, "git never started"
        time.sleep(0.02)
    git_pid = int(pid_file.read_text())
    assert not _gone(git_pid)
    worker.kill()
    worker.wait()
    deadline = time.monotonic() + 5
    while not _gone(git_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(git_pid)
