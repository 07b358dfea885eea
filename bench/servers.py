"""The webhook bench's child servers (git over smart HTTP, the bare Flask endpoint) and the CPU
each group of processes uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.live import Processes

CLK_TCK = os.sysconf("SC_CLK_TCK")
CpuSnapshot = dict[int, tuple[str, float]]  # pid -> (group, CPU seconds)


# -- child processes -------------------------------------------------------------------------
# Children of their own, so the load generators share no GIL with them; Processes waits for
# and stops them (their whole process group) as it does gitferry's.


@contextmanager
def git_http_server(root: Path) -> Iterator[str]:
    """tests/support/git_http.GitHttpServer over `root` in a child process; yields its host:port."""
    children = Processes(root, {})
    proc = children.procs["git-http"] = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        netloc = proc.stdout.readline().decode().strip()
        if not netloc:
            raise RuntimeError("the git HTTP server did not start")
        yield netloc
    finally:
        children.stop_all()
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()


@contextmanager
def bare_flask(scratch: Path) -> Iterator[int]:
    """bench/bare_flask.py under gunicorn, logging to scratch/bare.log; yields its port."""
    children = Processes(scratch, {})
    with open(scratch / "bare.log", "ab") as log:
        children.procs["bare"] = subprocess.Popen(
            [sys.executable, "-m", "bench.bare_flask", "--port", str(children.port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        children.wait_healthy()
        yield children.port
    finally:
        children.stop_all()


def serve_git(root: Path) -> None:
    from tests.support.git_http import GitHttpServer

    with GitHttpServer(root) as server:
        print(server.netloc, flush=True)
        sys.stdin.read()  # until the parent closes our stdin or stops us


# -- CPU accounting --------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, float, str, str]]:
    """pid -> (ppid, CPU seconds of it and its reaped children, comm, cmdline)."""
    procs: dict[int, tuple[int, float, str, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended while we looked
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = sum(int(x) for x in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
        procs[int(name)] = (int(fields[1]), cpu, comm, cmdline)
    return procs


def _group(pid: int, procs: dict[int, tuple[int, float, str, str]]) -> str | None:
    """Which group a process counts in: itself or its nearest ancestor that is one of ours."""
    if procs[pid][2].startswith(("postgres", "redis-server")):
        return "postgres+redis"
    for _ in range(64):
        if pid not in procs:
            return None
        cmd = procs[pid][3]
        if "service.cli" in cmd:
            word = cmd.split("service.cli", 1)[1].split()[0:1]
            return {"serve": "web", "web": "web", "worker": "worker", "beat": "beat"}.get(word[0] if word else "")
        if "bench.bare_flask" in cmd:
            return "bare"
        if "bench.servers" in cmd:
            return "git-http"
        pid = procs[pid][0]
    return None


def cpu_snapshot() -> CpuSnapshot:
    procs = _proc_table()
    return {pid: (g, procs[pid][1]) for pid in procs if (g := _group(pid, procs))}


def cpu_delta(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds per group between two snapshots (processes that ended in between are lost)."""
    out: dict[str, float] = {}
    for pid, (group, cpu) in after.items():
        out[group] = out.get(group, 0.0) + cpu - (before[pid][1] if pid in before else 0.0)
    return {k: round(v, 2) for k, v in sorted(out.items())}


@contextmanager
def cpu_used() -> Iterator[dict[str, float]]:
    """Fills the yielded dict with CPU seconds per group over the block, then this process's
    as "generator" (a caller whose generator is another process overwrites it)."""
    cpu: dict[str, float] = {}
    before, own = cpu_snapshot(), time.process_time()
    yield cpu
    cpu.update(cpu_delta(before, cpu_snapshot()))
    cpu["generator"] = round(time.process_time() - own, 2)


if __name__ == "__main__":
    serve_git(Path(sys.argv[1]))
