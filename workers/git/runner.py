"""The single place that starts git: clean environment, timeout, process-group kill."""

from __future__ import annotations

import contextlib
import math
import os
import re
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import validate
from .errors import GitError, classify, redact, summarize
from .models import Credential, GitConfig, ProgressCallback
from .pin import UNPINNED, Pin, pin
from .reaper import REAPER

# Receives exactly (credential.helper "get") and answers from this process's env only.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    "printf 'username=%s\\npassword=%s\\n' "
    '"$GITFERRY_GIT_USERNAME" "$GITFERRY_GIT_PASSWORD"; }; f'
)
_PROGRESS = re.compile(r"^(?:remote: )?([A-Za-z][A-Za-z ]*?):\s+(\d{1,3})%")
# Passed through so ssh finds its agent and known_hosts; nothing here changes git's behaviour
# because system and global config are off.
_KEEP_ENV = ("PATH", "HOME", "TMPDIR", "SSH_AUTH_SOCK")
# Subcommands that connect to a remote: each call names its URL, whose host is checked and pinned.
_CONNECTS = frozenset({"fetch", "push", "ls-remote", "clone", "pull"})


@dataclass(frozen=True)
class Output:
    """A finished git call."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    def error(self) -> GitError:
        """The GitError this failed call stands for."""
        code = classify(self.returncode, self.stderr)
        return GitError(
            code,
            summarize(code, self.stderr),
            command=self.command,
            returncode=self.returncode,
            stdout=self.stdout,
            stderr=self.stderr,
        )


class Runner:
    """Runs git for one repository with the engine's config."""

    def __init__(self, config: GitConfig, git_dir: Path | None = None, deadline: float | None = None) -> None:
        self.config = config
        self.git_dir = git_dir
        # time.monotonic() after which no call is started and a running one is stopped: a job's
        # calls together get so long (each alone gets config.timeout).
        self.deadline = deadline
        # Facts read from the repository (refs, remotes), kept until a git call may change them.
        self.cache: dict[str, object] = {}

    def base_env(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in _KEEP_ENV if key in os.environ}
        env.setdefault("PATH", os.defpath)
        env.setdefault("HOME", "/nonexistent")
        env.update(
            LC_ALL="C",
            LANGUAGE="C",
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL="/dev/null",
            # attributes/ignore under XDG would change merges; keep them out.
            XDG_CONFIG_HOME="/nonexistent",
            GIT_ALLOW_PROTOCOL=":".join(self.config.allow_protocols),
            GIT_SSH_COMMAND="ssh -o BatchMode=yes -o StrictHostKeyChecking=yes",
            GIT_HTTP_LOW_SPEED_LIMIT=str(self.config.low_speed_limit),
            GIT_HTTP_LOW_SPEED_TIME=str(self.config.low_speed_time),
            GIT_AUTHOR_NAME=self.config.author_name,
            GIT_AUTHOR_EMAIL=self.config.author_email,
            GIT_COMMITTER_NAME=self.config.author_name,
            GIT_COMMITTER_EMAIL=self.config.author_email,
        )
        return env

    def credential_for(self, url: str | None) -> Credential | None:
        host = validate.url_host(url) if url else None
        if host is None:
            return None
        cred = self.config.credentials.get(host)
        return validate.credential(cred) if cred is not None else None

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        url: str | None = None,
        progress: ProgressCallback | None = None,
        input: str | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        use_git_dir: bool = True,
    ) -> Output:
        """Run `git <args>`; raise GitError on failure unless check=False.

        `url` is the remote this call talks to: its host is checked where git is started
        (pin.pin), and its credential, if any, is given to git for this call only.
        """
        if url is None and args and args[0] in _CONNECTS:
            raise GitError("internal", f"git {args[0]} was called without the URL it connects to")
        connect = UNPINNED if url is None else pin(self.config, url)
        limit, limited_by_deadline = self._time_allowed(args)
        if not _reads_only(args):
            self.cache.clear()
        cmd = [self.config.git_binary]
        if self.git_dir is not None and use_git_dir:
            cmd.append(f"--git-dir={self.git_dir}")
        # Hooks in a clone are never ours to run. Maintenance waits until the job has answered
        # (Clone.housekeeping) instead of running inside fetch, rebase or commit.
        cmd += ["-c", "core.hooksPath=/dev/null", "-c", "maintenance.auto=false", *connect.config, *args]
        full_env, secrets = self._env(url, connect, progress is not None, env)
        shown = [redact(part, secrets) for part in cmd]
        returncode, out_b, err_b, timed_out = _spawn(cmd, cwd, full_env, input, progress, limit, shown)
        stdout = redact(out_b.decode("utf-8", "replace"), secrets)
        stderr = redact(err_b.decode("utf-8", "replace"), secrets)
        if timed_out:
            code, message = ("job_timeout", f"the job ran out of time: git {_name(args)} was stopped") \
                if limited_by_deadline else \
                ("timeout", f"git {_name(args)} took longer than {self.config.timeout:g}s and was stopped")
            raise GitError(code, message, command=shown, returncode=returncode, stdout=stdout, stderr=stderr)
        result = Output(shown, returncode, stdout, stderr)
        if check and returncode != 0:
            raise result.error()
        return result

    def _env(self, url: str | None, connect: Pin, progress: bool,
             env: Mapping[str, str] | None) -> tuple[dict[str, str], list[str]]:
        """The call's environment, and the secrets it holds (to redact from what git prints)."""
        full_env = self.base_env()
        secrets: list[str] = []
        cred = self.credential_for(url)
        if cred is not None:
            full_env.update(
                GIT_CONFIG_COUNT="2",
                GIT_CONFIG_KEY_0="credential.helper",
                GIT_CONFIG_VALUE_0="",
                GIT_CONFIG_KEY_1="credential.helper",
                GIT_CONFIG_VALUE_1=CREDENTIAL_HELPER,
                GITFERRY_GIT_USERNAME=cred.username,
                GITFERRY_GIT_PASSWORD=cred.password,
            )
            secrets.append(cred.password)
        if progress:
            full_env["GIT_PROGRESS_DELAY"] = "0"
        if env:
            full_env.update(env)
        if connect.ssh_options:
            full_env["GIT_SSH_COMMAND"] += " " + shlex.join(connect.ssh_options)
        return full_env, secrets

    def _time_allowed(self, args: Sequence[str]) -> tuple[float, bool]:
        """How long the call may run, and whether the deadline (not config.timeout) says so;
        GitError job_timeout if the deadline has passed: the call is not started."""
        if self.deadline is None:
            return self.config.timeout, False
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise GitError("job_timeout", f"the job ran out of time: git {_name(args)} was not started")
        return (left, True) if left < self.config.timeout else (self.config.timeout, False)


def _spawn(cmd: list[str], cwd: Path | None, env: dict[str, str], input: str | None,
           progress: ProgressCallback | None, limit: float, shown: list[str]) -> tuple[int, bytes, bytes, bool]:
    """Run git to its end or its limit: (exit code, stdout, stderr, whether it was stopped)."""
    mark = REAPER.mark()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, killed whole
            pass_fds=() if mark is None else (mark,),  # git dies with this process, whatever kills it
        )
    except OSError as exc:
        raise GitError("git", f"could not start git: {exc}", command=shown) from exc
    try:
        timed_out, out_b, err_b = _communicate(proc, limit, input, progress)
    except BaseException:
        # e.g. the worker is being shut down: leave no git behind
        _kill_group(proc)
        proc.wait()
        raise
    return proc.returncode, out_b, err_b, timed_out


def _name(args: Sequence[str]) -> str:
    return args[0] if args else ""


# Subcommands that change no ref and no config (merge-tree and commit-tree write only objects).
_READ_ONLY = frozenset({"for-each-ref", "rev-parse", "merge-base", "show-ref", "ls-remote", "cat-file",
                        "rev-list", "diff", "log", "check-ref-format", "merge-tree", "commit-tree"})


def _reads_only(args: Sequence[str]) -> bool:
    if not args:
        return False
    if args[0] == "config":
        return any(a in ("--get", "--get-all", "--get-regexp", "-l", "--list") for a in args[1:])
    return args[0] in _READ_ONLY


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class _Watchdog:
    """Kills the process group of each git call that runs past its time; one thread for all.

    A timer thread of its own for each call cost a thread start (and the wait for it to run)
    before every git call. This thread sleeps until the earliest deadline, and when nothing is
    watched, a minute at a time: a call due later than its next look does not wake it.
    """

    _IDLE_LOOK = 60.0

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._watched: dict[object, tuple[float, subprocess.Popen[bytes]]] = {}
        self._expired: set[object] = set()
        self._next_look = math.inf
        self._pid: int | None = None

    def watch(self, proc: subprocess.Popen[bytes], seconds: float) -> object:
        token = object()
        deadline = time.monotonic() + seconds
        with self._lock:
            self._watched[token] = (deadline, proc)
            if self._pid != os.getpid():  # the first call in this process (or since a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="git-watchdog", daemon=True).start()
            if deadline < self._next_look:
                self._next_look = deadline
                self._lock.notify()
        return token

    def done(self, token: object) -> bool:
        """Stop watching; True if the call ran out of time and was killed."""
        with self._lock:
            self._watched.pop(token, None)
            if token in self._expired:
                self._expired.discard(token)
                return True
            return False

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for token, (deadline, proc) in list(self._watched.items()):
                    if deadline <= now:
                        del self._watched[token]
                        self._expired.add(token)
                        _kill_group(proc)
                deadlines = [deadline for deadline, _proc in self._watched.values()]
                self._next_look = min(deadlines, default=now + self._IDLE_LOOK)
                self._lock.wait(self._next_look - now)


_WATCHDOG = _Watchdog()


def _communicate(
    proc: subprocess.Popen[bytes],
    timeout: float,
    input: str | None,
    progress: ProgressCallback | None,
) -> tuple[bool, bytes, bytes]:
    """Collect output, feeding progress lines as they come; kill the group on timeout."""
    watched = _WATCHDOG.watch(proc, timeout)
    try:
        if progress is None:
            out, err = proc.communicate(input.encode() if input is not None else None)
        else:
            out, err = _read_with_progress(proc, progress)
    finally:
        expired = _WATCHDOG.done(watched)
    return expired, out or b"", err or b""


# Progress is not read during a call's first quarter second: the job does not record it that
# early, and git redraws it for every percent, each redraw waking the worker while git runs.
# A call over by then still reports its last progress, read at the end.
_PROGRESS_QUIET = 0.25


def _read_with_progress(proc: subprocess.Popen[bytes], progress: ProgressCallback) -> tuple[bytes, bytes]:
    """stdout as it comes, and stderr, with progress fed from it, once the quiet time is over
    or stdout has ended. One thread: a reader thread for stdout cost a thread start per call."""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.fileno(), proc.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out: [], err: []}
    pending = b""
    quiet_until = time.monotonic() + _PROGRESS_QUIET
    with selectors.PollSelector() as selector:
        selector.register(out, selectors.EVENT_READ)
        reading_err = False
        while True:
            if not reading_err and (out not in selector.get_map() or time.monotonic() >= quiet_until):
                selector.register(err, selectors.EVENT_READ)
                reading_err = True
            if not selector.get_map():
                break
            wait = None if reading_err else max(0.0, quiet_until - time.monotonic())
            for key, _events in selector.select(wait):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                    continue
                chunks[key.fd].append(data)
                if key.fd == err:
                    pending += data
                    # git redraws progress with \r; each \r or \n ends one update.
                    *lines, pending = re.split(rb"[\r\n]", pending)
                    for line in lines:
                        _report(line, progress)
    if pending:
        _report(pending, progress)
    proc.wait()
    return b"".join(chunks[out]), b"".join(chunks[err])


def _report(line: bytes, progress: ProgressCallback) -> None:
    match = _PROGRESS.match(line.decode("utf-8", "replace").strip())
    if match:
        with contextlib.suppress(Exception):  # a broken callback must not break the fetch
            progress(match.group(1).strip(), min(100, int(match.group(2))))
