"""Killing the gits a worker leaves running when it dies, however it dies.

A git left running by a killed worker would race the job's next attempt on the same clone.
The kernel's parent-death signal (PR_SET_PDEATHSIG) must be set between fork and exec: through
setpriv that cost one more exec per git call, and through a preexec_fn a full
fork of the worker instead of a vfork. Instead, each worker process keeps one small reaper
process reading a pipe the worker holds both ends of, and every git is given a copy of the read
end (pass_fds). When the worker exits or is killed the write end closes, and the reaper kills
every process still holding the read end.

Git holds it from the fork that starts it, before the worker knows git's pid, and its children
inherit it. Telling the reaper each git's pid once Popen returned missed the git whenever the
worker died in between. A mark in git's environment would show only once git has exec'd, and
subprocess closes the write end in the child before exec: the reaper could see the worker gone
and git not yet marked. Linux only: the reaper reads /proc.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger("gitferry.git")

# Run with `python -S -c`: only the standard library, and not much of it. /proc is scanned again
# until a scan finds no one new, for a git may fork before it is killed. The group of a process
# holding the pipe is killed whole, to take the children that closed it (ssh does), unless it is
# the worker's own group (argv[1]), which may hold the worker's parent and siblings, or 0 or 1
# (killpg(1) is kill(-1): every process).
_REAPER = """
import os, signal, sys
while os.read(0, 4096):
    pass
worker_group, mark, me = int(sys.argv[1]), os.readlink("/proc/self/fd/0"), os.getpid()

def marked(pid):
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == mark:
                return True
        except OSError:
            pass
    return False

killed = {me}
for _scan in range(100):
    pids = map(int, filter(str.isdigit, os.listdir("/proc")))
    found = [pid for pid in pids if pid not in killed and marked(pid)]
    if not found:
        break
    for pid in found:
        killed.add(pid)
        try:
            group = os.getpgid(pid)
            if group not in (0, 1, worker_group):
                os.killpg(group, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""


class Reaper:
    """This process's reaper and its pipe; started at the first git call, and again after a fork
    or once something killed it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._fds: list[int] = []  # this process's copies of both ends of the pipe
        self._mark: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def mark(self) -> int | None:
        """The descriptor to pass to git so that it dies with this process (None without a pipe).

        Never raises: without a reaper, git still runs (it only may outlive a killed worker)."""
        with self._lock:
            if self._pid != os.getpid():
                self._forget()
            try:
                if self._mark is None:
                    self._fds, self._mark = _pipe()
                    self._pid = os.getpid()
                if self._process is None or self._process.poll() is not None:
                    # The first, or the next after something killed one: on the same pipe, so that
                    # it also covers the gits started before it.
                    self._process = subprocess.Popen(
                        [sys.executable, "-S", "-c", _REAPER, str(os.getpgrp())], stdin=self._mark,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True)  # so that a signal to the worker's process group spares it
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("git_reaper_not_started error=%s", type(exc).__name__)
            return self._mark

    def _forget(self) -> None:
        # The parent's pipe, copied by a fork: its reaper must see it close when the parent dies,
        # and must not take this process, holding the read end, for one of the parent's gits.
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds, self._mark, self._pid, self._process = [], None, None, None


def _pipe() -> tuple[list[int], int]:
    """A new pipe: every descriptor of it this process keeps, and the read end to give git."""
    # git's copy sits between two more of ours. A git call's child keeps open only that one and
    # subprocess's own error pipe, and when two kept ones are adjacent, or the first is 3, CPython
    # closes the others one by one instead of with close_range: 0.16 ms more a call here.
    read_end, write_end = os.pipe()
    copies: list[int] = []
    try:
        copies.append(fcntl.fcntl(read_end, fcntl.F_DUPFD_CLOEXEC, 4))
        while len(copies) < 3:
            fd = fcntl.fcntl(read_end, fcntl.F_DUPFD_CLOEXEC, copies[-1] + 1)
            if fd != copies[-1] + 1:  # another descriptor in between: start again above it
                for old in copies:
                    os.close(old)
                copies.clear()
            copies.append(fd)
    except OSError:
        for fd in [*copies, write_end]:
            os.close(fd)
        raise
    finally:
        os.close(read_end)
    return [write_end, *copies], copies[1]


REAPER = Reaper()
