"""Killing the gits a worker leaves running when it dies, however it dies.

A git left running by a killed worker would race the job's next attempt on the same clone.
The kernel's parent-death signal (PR_SET_PDEATHSIG) must be set between fork and exec: through
setpriv that cost one more exec per git call (0.8 ms here), and through a preexec_fn a full
fork of the worker instead of a vfork. Instead, each worker process keeps one small reaper
process that reads a pipe from it. The worker writes each git's process group to the pipe when
git starts and again when it ends. When the pipe closes, because the worker exited or was
killed, the reaper kills every group still registered and exits.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger("gitferry.git")

# Run with `python -S -c`: only the standard library, and not much of it.
_REAPER = """
import os, signal, sys
groups = set()
for line in sys.stdin.buffer:
    sign, group = line[:1], int(line[1:])
    if sign == b"+":
        groups.add(group)
    else:
        groups.discard(group)
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class Reaper:
    """This process's reaper; started at the first git call (and again after a fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipe: int | None = None
        self._pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def started(self, group: int) -> None:
        """Git's process group `group` is to die with this process."""
        self._tell(b"+%d\n" % group)

    def ended(self, group: int) -> None:
        self._tell(b"-%d\n" % group)

    def _tell(self, line: bytes) -> None:
        """Never raises: without a reaper, git still runs (it only may outlive a killed worker)."""
        for _attempt in range(2):
            pipe = self._pipe if self._pid == os.getpid() else None
            try:
                if pipe is None:
                    pipe = self._start()
                os.write(pipe, line)  # one line is less than PIPE_BUF: written whole, among threads too
                return
            except OSError as exc:  # the reaper was killed (or could not start): start another
                log.warning("git_reaper_unreachable error=%s", type(exc).__name__)
                with self._lock:
                    if pipe is not None and self._pipe == pipe:
                        self._pipe = None
                        os.close(pipe)

    def _start(self) -> int:
        with self._lock:
            if self._pipe is not None:
                if self._pid == os.getpid():
                    return self._pipe
                os.close(self._pipe)  # the parent's, copied by a fork: its reaper must see it close
            read_end, write_end = os.pipe()
            try:
                # Its own session, so that a signal to the worker's process group spares it.
                self._process = subprocess.Popen([sys.executable, "-S", "-c", _REAPER], stdin=read_end,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                 start_new_session=True)
            finally:
                os.close(read_end)
            self._pipe, self._pid = write_end, os.getpid()
            return write_end


REAPER = Reaper()
