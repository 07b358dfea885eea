"""The runner: clean environment, timeouts that kill the whole process group, redaction."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
        runner.run(["work"], progress=lambda p, n: seen.append((p, n)))
    assert err.value.code == "timeout"
    assert seen == [("Receiving objects", 10)]


def _fake_git(tmp_path: Path, script: str) -> str:
    fake = tmp_path / "fake-git"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    return str(fake)


def test_a_short_call_still_reports_its_progress_in_order(tmp_path: Path) -> None:
    fake = _fake_git(tmp_path, "printf 'Counting objects:  50%% (1/2)\\rCounting objects: 100%% (2/2)\\n"
                               "remote: Compressing objects: 100%% (2/2), done.\\n' >&2\necho out\n")
    seen: list[tuple[str, int]] = []
    out = Runner(GitConfig(git_binary=fake)).run(["work"], progress=lambda p, n: seen.append((p, n)))
    assert out.stdout == "out\n"
    assert seen == [("Counting objects", 50), ("Counting objects", 100), ("Compressing objects", 100)]


def test_a_long_call_reports_progress_while_it_runs(tmp_path: Path) -> None:
    fake = _fake_git(tmp_path, "printf 'Receiving objects:  10%% (1/10)\\r' >&2\nsleep 1\n"
                               "printf 'Receiving objects: 100%% (10/10)\\n' >&2\n")
    started = time.monotonic()
    seen: list[tuple[int, float]] = []
    heard = lambda phase, n: seen.append((n, time.monotonic() - started))  # noqa: E731
    Runner(GitConfig(git_binary=fake)).run(["work"], progress=heard)
    assert [n for n, _ in seen] == [10, 100]
    assert seen[0][1] < 0.8  # heard before git was done, not read at the end


def test_much_output_on_both_streams_is_read_whole(tmp_path: Path) -> None:
    # More than a pipe holds, on stderr before any stdout: git must not block on either.
    fake = _fake_git(tmp_path, "i=0; while [ $i -lt 3000 ]; do "
                               "printf 'remote: Counting objects: %3d%%\\r' $((i % 100)) >&2; i=$((i+1)); done\n"
                               "seq 1 30000\n")
    seen: list[tuple[str, int]] = []
    out = Runner(GitConfig(git_binary=fake, timeout=30)).run(["work"], progress=lambda p, n: seen.append((p, n)))
    assert out.stdout.split() == [str(n) for n in range(1, 30001)]
    assert len(out.stderr.split("\r")) == 3001 and len(seen) == 3000


def test_each_call_is_stopped_at_its_own_deadline(tmp_path: Path) -> None:
    slow = _fake_git(tmp_path, "sleep 1.5\necho finished\n")
    results: dict[str, object] = {}

    def patient() -> None:
        results["patient"] = Runner(GitConfig(git_binary=slow, timeout=30)).run(["work"]).stdout

    thread = threading.Thread(target=patient)
    thread.start()
    started = time.monotonic()
    with pytest.raises(GitError) as err:  # watched after the patient call, due before it
        Runner(GitConfig(git_binary=slow, timeout=0.3)).run(["work"])
    assert err.value.code == "timeout" and time.monotonic() - started < 1.2
    thread.join()
    assert results["patient"] == "finished\n"


def test_git_calls_start_no_thread_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread started per call (a timer, a reader) cost each call the wait for it to run."""
    fake = _fake_git(tmp_path, "printf 'Receiving objects: 100%% (1/1)\\n' >&2\n")
    runner = Runner(GitConfig(git_binary=fake))
    runner.run(["work"])  # the process's one watchdog thread is running from here on
    started: list[str] = []
    original = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for _ in range(5):
        runner.run(["work"])
        runner.run(["work"], progress=lambda p, n: None)
    assert started == []


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


def _worker_running_git(tmp_path: Path, code: str, only_for: str = "", then: str = "exec sleep 30",
                        **popen: Any) -> subprocess.Popen[bytes]:
    """A Python process running `code` with `runner`, a Runner of a fake git that records its
    pid in git-<pid>.pid and runs `then` (when `only_for` is given, only when called with it)."""
    fake = tmp_path / "fake-git"
    skip = f'[ "$5" = {only_for} ] || exit 0\n' if only_for else ""
    fake.write_text(f"#!/bin/sh\n{skip}echo $$ > {tmp_path}/git-$$.pid\n{then}\n")
    fake.chmod(0o755)
    setup = ("import os, threading; from workers.git import GitConfig; from workers.git.runner import Runner; "
             "from workers.git.reaper import REAPER; "
             f"runner = Runner(GitConfig(git_binary={str(fake)!r}, timeout=60)); ")
    return subprocess.Popen([sys.executable, "-c", setup + code], cwd=Path(__file__).resolve().parents[2], **popen)


def _gits_started(tmp_path: Path, worker: subprocess.Popen[bytes], count: int = 1) -> list[int]:
    deadline = time.monotonic() + 10
    while len(found := list(tmp_path.glob("git-*.pid"))) < count or not all(p.read_text().strip() for p in found):
        assert time.monotonic() < deadline and worker.poll() is None, "git never started"
        time.sleep(0.02)
    pids = [int(p.read_text()) for p in found]
    assert not any(_gone(pid) for pid in pids)
    return pids


def _wait_for(path: Path) -> str:
    deadline = time.monotonic() + 10
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"no {path.name}"
        time.sleep(0.02)
    return path.read_text()


def _all_gone_soon(pids: list[int]) -> bool:
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return all(_gone(pid) for pid in pids)


def test_git_dies_with_the_worker_that_started_it(tmp_path: Path) -> None:
    """A worker killed mid-job leaves no git behind to race the job's next attempt."""
    worker = _worker_running_git(tmp_path, "runner.run(['work'])")
    gits = _gits_started(tmp_path, worker)
    worker.kill()
    worker.wait()
    assert _all_gone_soon(gits)


def test_gits_die_with_a_worker_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    """Two gits running side by side, and the worker's process group killed at once (as a
    service manager stops it): neither git is left."""
    worker = _worker_running_git(tmp_path, (
        "threads = [threading.Thread(target=runner.run, args=([n],)) for n in ('a', 'b')]; "
        "[t.start() for t in threads]; [t.join() for t in threads]"), start_new_session=True)
    gits = _gits_started(tmp_path, worker, count=2)
    os.killpg(worker.pid, 9)
    worker.wait()
    assert _all_gone_soon(gits)


def test_gits_die_with_the_worker_even_after_its_reaper_was_killed(tmp_path: Path) -> None:
    """The small process that kills a dead worker's gits is started again if something killed it."""
    worker = _worker_running_git(tmp_path, (
        "runner.run(['quick']); os.kill(REAPER._process.pid, 9); REAPER._process.wait(); runner.run(['long'])"
    ), only_for="long")
    gits = _gits_started(tmp_path, worker)
    worker.kill()
    worker.wait()
    assert _all_gone_soon(gits)


def test_a_child_of_git_that_closed_its_descriptors_dies_with_the_worker(tmp_path: Path) -> None:
    """ssh closes every descriptor it did not open: it goes with git's process group."""
    child = (f"{sys.executable} -S -c \"import os, time; os.closerange(3, 65536); "
             f"open('{tmp_path}/child.pid', 'w').write(str(os.getpid())); time.sleep(30)\" &\nexec sleep 30")
    worker = _worker_running_git(tmp_path, "runner.run(['work'])", then=child)
    gits = [*_gits_started(tmp_path, worker), int(_wait_for(tmp_path / "child.pid"))]
    worker.kill()
    worker.wait()
    assert _all_gone_soon(gits)


def _worker_killed_starting_git(tmp_path: Path, start: str) -> int:
    """The pid of the git a worker was starting with `start` (code setting `proc` from `args` and
    `kwargs`, through `original`, that kills the worker and calls `record(git's pid)`)."""
    pid_file = tmp_path / "starting.pid"
    worker = _worker_running_git(tmp_path, (
        "runner.run(['quick'])\n"  # the reaper is running
        "import pathlib, subprocess\n"
        "original = subprocess.Popen\n"
        "def starting(*args, **kwargs):\n"
        f"    record = lambda pid: pathlib.Path({str(pid_file)!r}).write_text(str(pid))\n"
        f"    {start}\n"
        "    return proc\n"
        "subprocess.Popen = starting\n"
        "runner.run(['long'])\n"
    ), only_for="long")
    assert worker.wait(timeout=10) == -9
    return int(pid_file.read_text())


def test_git_dies_with_a_worker_killed_before_git_could_exec(tmp_path: Path) -> None:
    """The worker dies while git is between fork and exec, before the worker even knows its pid."""
    git = _worker_killed_starting_git(tmp_path, (
        "proc = original(*args, preexec_fn=lambda: (record(os.getpid()), os.kill(os.getppid(), 9)), **kwargs)"))
    assert _all_gone_soon([git])


def test_git_dies_with_a_worker_killed_as_soon_as_git_started(tmp_path: Path) -> None:
    git = _worker_killed_starting_git(tmp_path, (
        "proc = original(*args, **kwargs); record(proc.pid); os.kill(os.getpid(), 9)"))
    assert _all_gone_soon([git])


def test_gits_started_before_the_reaper_was_killed_die_with_the_worker(tmp_path: Path) -> None:
    """The reaper started in place of a killed one also kills the gits started before it."""
    ready = tmp_path / "ready"
    worker = _worker_running_git(tmp_path, (
        "import glob, pathlib, time\n"
        "long = threading.Thread(target=runner.run, args=(['long'],)); long.start()\n"
        f"while not glob.glob({str(tmp_path / 'git-*.pid')!r}): time.sleep(0.01)\n"
        "os.kill(REAPER._process.pid, 9); REAPER._process.wait(); runner.run(['quick'])\n"
        f"pathlib.Path({str(ready)!r}).write_text('replaced')\n"
        "long.join()\n"
    ), only_for="long")
    gits = _gits_started(tmp_path, worker)
    _wait_for(ready)
    worker.kill()
    worker.wait()
    assert _all_gone_soon(gits)


def test_a_process_forked_from_the_worker_keeps_its_gits_apart(tmp_path: Path) -> None:
    """A child forked from the worker, once it has run git, neither keeps the worker's reaper from
    seeing the worker die nor is killed by it."""
    child_file, reaper_file = tmp_path / "child.pid", tmp_path / "reaper.pid"
    worker = _worker_running_git(tmp_path, (
        "import pathlib, time\n"
        # The reaper without a git call: the call's watchdog thread may hold its lock as the
        # fork copies it, and the child's first git call would wait for it forever.
        "REAPER.mark()\n"
        f"pathlib.Path({str(reaper_file)!r}).write_text(str(REAPER._process.pid))\n"
        "if os.fork() == 0:\n"
        "    runner.run(['quick'])\n"
        f"    pathlib.Path({str(child_file)!r}).write_text(str(os.getpid())); time.sleep(30); os._exit(0)\n"
        "runner.run(['long'])\n"
    ), only_for="long")
    gits = _gits_started(tmp_path, worker)
    child, reaper = int(_wait_for(child_file)), int(_wait_for(reaper_file))
    try:
        worker.kill()
        worker.wait()
        assert _all_gone_soon([*gits, reaper])
        assert not _gone(child)
    finally:
        os.kill(child, 9)


def test_a_deadline_stops_the_running_call_and_starts_no_other(tmp_path: Path) -> None:
    """A job's calls together get so long (GITFERRY_JOB_TIMEOUT), however long each alone may run."""
    fake = _fake_git(tmp_path, f"echo $$ >> {tmp_path}/started\nexec sleep 30\n")
    runner = Runner(GitConfig(git_binary=fake, timeout=60), deadline=time.monotonic() + 0.5)
    started = time.monotonic()
    with pytest.raises(GitError) as stopped:  # (calls that need no remote URL: the fake git answers all)
        runner.run(["gc", "--auto"])
    assert time.monotonic() - started < 3
    assert (stopped.value.code, stopped.value.message) == ("job_timeout",
                                                          "the job ran out of time: git gc was stopped")
    with pytest.raises(GitError) as refused:
        runner.run(["gc", "--prune=now"])
    assert (refused.value.code, refused.value.message) == ("job_timeout",
                                                          "the job ran out of time: git gc was not started")
    assert len((tmp_path / "started").read_text().split()) == 1


def test_a_call_due_before_the_deadline_keeps_its_own_timeout(tmp_path: Path) -> None:
    fake = _fake_git(tmp_path, "exec sleep 30\n")
    runner = Runner(GitConfig(git_binary=fake, timeout=0.3), deadline=time.monotonic() + 60)
    with pytest.raises(GitError) as err:
        runner.run(["gc"])
    assert err.value.code == "timeout"
