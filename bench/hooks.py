"""Webhook intake, webhook-to-fetched latency and bursts, against the targets of issue 3.

Targets (issue 3, "Speed"):
1. Intake: signed GitHub push deliveries per second through the production WSGI server
   (gunicorn, 2 gthread workers, as `gitferry web` / `gitferry serve` run it) at least 0.5 of
   the rate of a bare Flask endpoint answering 202 on the same server settings
   (bench/bare_flask.py, which calls service.cli.run_gunicorn itself); and p99 latency under
   50 ms at a fixed 200 requests/s.
2. Webhook to fetched: from the POST to the fetch job `done`, against a bare
   `git fetch --prune --tags` of the same change in a plain clone of the same forge over the
   same smart-HTTP server: median ratio at most 1.3 (Redis mode) and under 100 ms added.
3. Burst: 500 deliveries for one repo within 2 s make at most 5 fetch jobs; none is lost
   (every delivery answered 202 with its jobs and recorded; the last commit in the clone
   within 2 s of the burst's end).

How:
- One bare forge (bench.ops.build_forge: 2,000 commits, 20 branches, 20 tags) is served over
  smart HTTP (tests/support/git_http.py) by a child process of its own, so the load
  generators below do not share a GIL with it. The service manages it as repo `bench/hooks`;
  every delivery names its real clone URL, so each one is verified, recorded and queues or
  joins a fetch job. Deliveries are GitHub push bodies of about 1.5 KB, each with its own
  delivery id and body (so its own signature): no redelivery shortcut is taken.
- Throughput: `wrk` (Debian package; `apt-get install -y wrk`), 1 thread, 32 connections,
  a Lua script sending pre-signed deliveries from a file, each once. The bare endpoint gets the
  same requests. wrk's own CPU time is reported next to the servers', so one can see that the
  generator is not what limits the rate. Without wrk, a Python asyncio closed-loop client is
  used instead (and says so).
- Latency at 200/s: an asyncio open-loop client (raw HTTP/1.1, 32 keep-alive connections);
  each request's latency runs from its scheduled send time, so client-side queueing counts.
- Webhook to fetched: each round pushes one new commit to the forge, then (order alternating)
  POSTs the delivery and watches the job's row in the database every 3 ms until `done`, and
  runs the plain fetch. Rounds are spaced so no fetch of the remote ended within the intake's
  0.5 s debounce window (a push after a quiet spell is fetched at once).
- Burst: 500 commits are prepared on a hidden ref of the forge; delivery i moves the forge's
  main to commit i (an atomic loose-ref write, as `git update-ref` does, without spawning a
  process) just before it is sent. Two bursts per mode: paced evenly over 2 s (the spread that
  makes the most fetches), and all at once over 64 connections.

    .venv/bin/python -m bench.hooks [--mode embedded|redis|both] [--duration 10] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from bench.common import (
    PG_URL,
    PLAIN_ENV,
    forge_commit,
    gitferry,
    modes,
    scratch_dir,
    sh,
    table,
    write_json,
)
from bench.ops import build_forge
from service.store.db import Database
from service.store.tables import deliveries, jobs
from tests.hooks.signing import github_push
from tests.support.live import HOOK_SECRET, Processes, free_port
from tests.support.repos import git

REPO = "bench/hooks"
HOST = "127.0.0.1"
RATIO_TARGET = 0.5
P99_TARGET_MS = 50.0
PACED_RATE = 200
FETCH_RATIO_TARGET = 1.3
ADDED_TARGET_MS = 100.0
BURST = 500
BURST_SECONDS = 2.0
BURST_JOBS_TARGET = 5
WRK_CONNECTIONS = 32
PACED_CONNECTIONS = 32
BURST_CONNECTIONS = 64
DEBOUNCE_GAP = 0.7  # > service.web.hooks.DEBOUNCE_SECONDS (0.5)
PLAIN_FETCH = "git fetch -q --prune --tags origin"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- deliveries --------------------------------------------------------------------------------


def delivery(clone_url: str, after: str, seq: int, before: str = "a" * 40) -> tuple[str, str, bytes]:
    """(delivery id, signature hex, body) of a GitHub push of about 1.5 KB, as GitHub shapes it."""
    payload = github_push(clone_url, full_name="bench/forge", after=after, before=before)
    commit = {
        "id": after, "tree_id": hashlib.sha1(f"tree{seq}".encode()).hexdigest(), "distinct": True,
        "message": f"bench change {seq}\n\nA webhook benchmark commit.", "timestamp": "2024-01-01T12:00:00Z",
        "url": f"{clone_url.removesuffix('.git')}/commit/{after}",
        "author": {"name": "Forge", "email": "forge@example.com", "username": "forge"},
        "committer": {"name": "Forge", "email": "forge@example.com", "username": "forge"},
        "added": [f"bench/{seq}.txt"], "removed": [], "modified": ["README.md"],
    }
    payload.update({
        "base_ref": None, "compare": f"{clone_url.removesuffix('.git')}/compare/{before[:12]}...{after[:12]}",
        "commits": [commit], "head_commit": commit,
        "pusher": {"name": "forge", "email": "forge@example.com"},
        "sender": {"login": "forge", "id": 1000 + seq, "type": "User", "site_admin": False},
    })
    payload["repository"].update({"id": 4242, "name": "forge", "private": False, "default_branch": "main",
                                  "owner": {"login": "bench", "id": 7, "type": "Organization"}})
    body = json.dumps(payload).encode()
    return str(uuid.uuid4()), hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(), body


def github_headers(delivery_id: str, signature: str) -> dict[str, str]:
    return {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery_id,
            "X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}


def raw_request(port: int, delivery_id: str, signature: str, body: bytes) -> bytes:
    head = ["POST /hooks/github HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in github_headers(delivery_id, signature).items()), "", ""]
    return "\r\n".join(head).encode() + body


# -- child processes: the git server and the bare endpoint -------------------------------------


@contextmanager
def git_http_server(root: Path) -> Iterator[tuple[str, int]]:
    """tests/support/git_http.GitHttpServer in a child process; yields (netloc, pid)."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.hooks", "--serve-git", str(root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        netloc = proc.stdout.readline().decode().strip()
        if not netloc:
            raise RuntimeError("the git HTTP server did not start")
        yield netloc, proc.pid
    finally:
        _stop(proc)


def serve_git(root: str) -> None:
    from tests.support.git_http import GitHttpServer

    with GitHttpServer(Path(root)) as server:
        print(server.netloc, flush=True)
        sys.stdin.read()  # until the parent closes our stdin or stops us


@contextmanager
def bare_flask(log: Path) -> Iterator[tuple[int, int]]:
    """bench/bare_flask.py under gunicorn; yields (port, pid)."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.bare_flask", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bare flask did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin:
        proc.stdin.close()
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -- CPU accounting ----------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, float, str, str]]:
    """pid -> (ppid, CPU seconds of it and its reaped children, comm, cmdline)."""
    table_: dict[int, tuple[int, float, str, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = sum(int(x) for x in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
        table_[int(name)] = (int(fields[1]), cpu, comm, cmdline)
    return table_


def _group(pid: int, procs: dict[int, tuple[int, float, str, str]]) -> str | None:
    comm = procs[pid][2]
    if comm.startswith(("postgres", "redis-server")):
        return "postgres+redis"
    seen = 0
    while pid in procs and seen < 64:
        cmd = procs[pid][3]
        if "service.cli" in cmd:
            word = cmd.split("service.cli", 1)[1].split()[0:1]
            return {"serve": "web", "web": "web", "worker": "worker", "beat": "beat"}.get(word[0] if word else "", None)
        if "bench.bare_flask" in cmd:
            return "bare"
        if "--serve-git" in cmd:
            return "git-http"
        pid, seen = procs[pid][0], seen + 1
    return None


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    procs = _proc_table()
    return {pid: (g, procs[pid][1]) for pid in procs if (g := _group(pid, procs))}


def cpu_delta(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per group between two snapshots (processes that ended in between are lost)."""
    out: dict[str, float] = {}
    for pid, (group, cpu) in after.items():
        out[group] = out.get(group, 0.0) + cpu - (before[pid][1] if pid in before else 0.0)
    return {k: round(v, 2) for k, v in sorted(out.items())}


# -- load generators ---------------------------------------------------------------------------

WRK_LUA = r"""
-- Each thread sends its share of the pre-signed deliveries in the file, each once; it starts
-- over (and says so in `wrapped`) only if it runs out.
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

reqs = {}
idx = 0
ok202 = 0
with_jobs = 0
other = 0
wrapped = 0

function init(args)
  local path, nthreads, host = args[1], tonumber(args[2]), args[3]
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local d, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/hooks/github", {
        ["Host"] = host, ["X-GitHub-Event"] = "push", ["X-GitHub-Delivery"] = d,
        ["X-Hub-Signature-256"] = "sha256=" .. sig, ["Content-Type"] = "application/json"}, body)
    end
    i = i + 1
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = 1
  end
  return reqs[idx]
end

function response(status, headers, body)
  if status == 202 then
    ok202 = ok202 + 1
    if string.find(body, '"jobs"', 1, true) then with_jobs = with_jobs + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok, jobs, bad, wr = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok202")
    jobs = jobs + t:get("with_jobs")
    bad = bad + t:get("other")
    wr = wr + t:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "ok202": %d, "with_jobs": %d, ' ..
    '"other_status": %d, "wrapped_threads": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration, ok, jobs, bad, wr, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


def write_deliveries(path: Path, clone_url: str, after: str, count: int) -> Path:
    with open(path, "wb") as out:
        for i in range(count):
            d, sig, body = delivery(clone_url, after, i)
            out.write(d.encode() + b"\t" + sig.encode() + b"\t" + body + b"\n")
    return path


def run_wrk(port: int, deliveries_file: Path, seconds: float, scratch: Path) -> dict[str, Any]:
    script = scratch / "deliveries.lua"
    script.write_text(WRK_LUA)
    out_path = scratch / "wrk.out"
    cmd = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
           f"http://{HOST}:{port}", "--", str(deliveries_file), "1", f"{HOST}:{port}"]
    before = cpu_snapshot()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    after = cpu_snapshot()
    text = out_path.read_text()
    line = next((x for x in text.splitlines() if x.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text[-3000:]}")
    result: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
    seconds_run = result.pop("duration_us") / 1e6
    result["seconds"] = round(seconds_run, 2)
    result["rate"] = round(result["requests"] / seconds_run, 1)
    result["generator"] = "wrk -t1 -c32"
    cpu = cpu_delta(before, after)
    cpu["generator"] = round(usage.ru_utime + usage.ru_stime, 2)
    result["cpu_seconds"] = cpu
    return result


class HttpPool:
    """Raw HTTP/1.1 keep-alive connections for the asyncio clients."""

    def __init__(self, port: int, size: int):
        self.port, self.size = port, size
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.free.put_nowait(await asyncio.open_connection(HOST, self.port))

    async def close(self) -> None:
        while not self.free.empty():
            _, writer = self.free.get_nowait()
            writer.close()

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        conn = await self.free.get()
        try:
            for attempt in (1, 2):
                try:
                    status, body, close = await self._roundtrip(conn, raw)
                    if close:
                        conn[1].close()
                        conn = await asyncio.open_connection(HOST, self.port)
                    return status, body
                except (ConnectionError, asyncio.IncompleteReadError):
                    # The server closed an idle keep-alive connection under us: the request was
                    # not taken (and deliveries are idempotent by id anyway): reconnect once.
                    conn[1].close()
                    conn = await asyncio.open_connection(HOST, self.port)
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            self.free.put_nowait(conn)

    @staticmethod
    async def _roundtrip(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                         raw: bytes) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(raw)
        await writer.drain()
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("closed")
        status = int(line.split()[1])
        length, close = 0, False
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            key, _, value = header.decode("latin-1").partition(":")
            key = key.strip().lower()
            if key == "content-length":
                length = int(value)
            elif key == "connection" and value.strip().lower() == "close":
                close = True
        body = await reader.readexactly(length) if length else b""
        return status, body, close


async def _paced(port: int, raws: list[bytes], offsets: list[float], connections: int,
                 before: Callable[[int], None] | None, clocks: dict[str, float]) -> list[dict[str, Any]]:
    pool = HttpPool(port, connections)
    await pool.open()
    loop = asyncio.get_running_loop()
    results: list[dict[str, Any]] = [{} for _ in raws]
    start = loop.time() + 0.05  # loop.time() is time.monotonic()
    clocks["start_monotonic"] = start
    clocks["start_wall"] = time.time() + 0.05

    async def one(i: int, raw: bytes, scheduled: float) -> None:
        try:
            status, body = await pool.send(raw)
        except (OSError, asyncio.IncompleteReadError) as exc:
            status, body = 0, repr(exc).encode()
        results[i] = {"scheduled": scheduled - start, "latency": loop.time() - scheduled, "status": status,
                      "body": body, "done": loop.time() - start}

    tasks: list[Awaitable[None]] = []
    for i, raw in enumerate(raws):
        scheduled = start + offsets[i]
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if before is not None:
            before(i)
        tasks.append(asyncio.ensure_future(one(i, raw, scheduled)))
    await asyncio.gather(*tasks)
    await pool.close()
    return results


def paced(port: int, raws: list[bytes], offsets: list[float], connections: int,
          before: Callable[[int], None] | None = None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Open loop: request i goes out at offsets[i] s after the start whatever came back;
    returns per-request results (times in s from the start; latency from the scheduled time)
    and the start as {"start_monotonic", "start_wall"}."""
    clocks: dict[str, float] = {}
    return asyncio.run(_paced(port, raws, offsets, connections, before, clocks)), clocks


def closed_loop(port: int, raws: list[bytes], seconds: float, connections: int) -> dict[str, Any]:
    """Fallback throughput generator when wrk is missing: `connections` clients back to back."""

    async def run() -> tuple[int, list[float], int, float]:
        pool = HttpPool(port, connections)
        await pool.open()
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        bad = 0
        nxt = 0
        t0 = loop.time()
        deadline = t0 + seconds

        async def client() -> None:
            nonlocal nxt, bad
            while loop.time() < deadline:
                raw = raws[nxt % len(raws)]
                nxt += 1
                started = loop.time()
                status, _ = await pool.send(raw)
                latencies.append(loop.time() - started)
                bad += status != 202

        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = loop.time() - t0
        await pool.close()
        return len(latencies), latencies, bad, elapsed

    before = cpu_snapshot()
    cpu0 = time.process_time()
    n, latencies, bad, elapsed = asyncio.run(run())
    cpu = cpu_delta(before, cpu_snapshot())
    cpu["generator"] = round(time.process_time() - cpu0, 2)
    return {"requests": n, "seconds": round(elapsed, 2), "rate": round(n / elapsed, 1), "other_status": bad,
            "wrapped_threads": int(n > len(raws)), "p99_ms": _pct_ms(latencies, 99),
            "generator": f"python asyncio closed loop, {connections} connections (wrk not installed)",
            "cpu_seconds": cpu}


def _pct_ms(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(pct / 100 * len(ordered)))] * 1000, 1)


# -- target 1: intake --------------------------------------------------------------------------


def throughput(port: int, clone_url: str, after: str, seconds: float, scratch: Path,
               distinct: bool = True) -> dict[str, Any]:
    """Warm up 2 s, then `seconds` of load. With `distinct`, every request is a delivery not sent
    before: the file for the main run is sized from the warm-up's rate, with room to spare.
    Without (the bare endpoint, which looks at no id), 20,000 deliveries are sent round."""
    warm_count = 20_000 if not distinct else 8_000
    if shutil.which("wrk"):
        warm_file = write_deliveries(scratch / "warm.tsv", clone_url, after, warm_count)
        warm = run_wrk(port, warm_file, 2, scratch)
        if not distinct:
            result = run_wrk(port, warm_file, seconds, scratch)
            result["deliveries"] = "20,000 sent round (the bare endpoint reads no id)"
            return result
        count = int(warm["rate"] * seconds * 1.5) + 2000
        result = run_wrk(port, write_deliveries(scratch / "main.tsv", clone_url, after, count), seconds, scratch)
        result["deliveries"] = f"{count} distinct, each sent at most once" if not result["wrapped_threads"] else (
            f"{count} distinct, RAN OUT: some were sent twice (redeliveries)")
        result["warmup_rate"] = warm["rate"]
        return result
    raws = [raw_request(port, *delivery(clone_url, after, i)) for i in range(warm_count)]
    warm_py = closed_loop(port, raws, 2, WRK_CONNECTIONS)
    count = int(warm_py["rate"] * seconds * 1.5) + 2000 if distinct else warm_count
    if distinct:
        raws = [raw_request(port, *delivery(clone_url, after, i)) for i in range(count)]
    return closed_loop(port, raws, seconds, WRK_CONNECTIONS)


def latency_at_rate(port: int, clone_url: str, after: str, seconds: float) -> dict[str, Any]:
    n = int(PACED_RATE * seconds)
    raws = [raw_request(port, *delivery(clone_url, after, i)) for i in range(n)]
    before = cpu_snapshot()
    cpu0 = time.process_time()
    results, _ = paced(port, raws, [i / PACED_RATE for i in range(n)], PACED_CONNECTIONS)
    cpu = cpu_delta(before, cpu_snapshot())
    cpu["generator"] = round(time.process_time() - cpu0, 2)
    lat = [r["latency"] for r in results]
    achieved = n / max(r["done"] for r in results)
    return {"rate": PACED_RATE, "requests": n, "achieved_rate": round(achieved, 1),
            "p50_ms": _pct_ms(lat, 50), "p90_ms": _pct_ms(lat, 90), "p99_ms": _pct_ms(lat, 99),
            "max_ms": round(max(lat) * 1000, 1), "non_202": sum(r["status"] != 202 for r in results),
            "with_jobs": sum(b'"jobs"' in r["body"] for r in results), "cpu_seconds": cpu,
            "generator": f"python asyncio open loop, {PACED_CONNECTIONS} connections"}


# -- the service's database --------------------------------------------------------------------


class Rows:
    """Reads the service's jobs and deliveries tables directly."""

    def __init__(self, url: str):
        self.db = Database(url)

    def job(self, job_id: int) -> dict[str, Any] | None:
        with self.db.tx() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            return dict(row) if row else None

    def wait_done(self, job_id: int, timeout: float = 30, interval: float = 0.003) -> tuple[float, dict[str, Any]]:
        """perf_counter() when the row was first seen finished, and the row."""
        deadline = time.perf_counter() + timeout
        while True:
            with self.db.tx() as conn:
                state = conn.execute(select(jobs.c.state).where(jobs.c.id == job_id)).scalar()
            if state in ("done", "failed"):
                seen = time.perf_counter()
                row = self.job(job_id)
                assert row is not None
                return seen, row
            if time.perf_counter() > deadline:
                raise TimeoutError(f"job {job_id} still {state} after {timeout} s")
            time.sleep(interval)

    def max_job_id(self) -> int:
        with self.db.tx() as conn:
            return int(conn.execute(select(func.max(jobs.c.id))).scalar() or 0)

    def idle(self, repo: str) -> bool:
        with self.db.tx() as conn:
            return not conn.execute(select(func.count()).select_from(jobs).where(
                jobs.c.repo == repo, jobs.c.state.in_(("queued", "running")))).scalar()

    def last_finished(self, repo: str) -> datetime | None:
        with self.db.tx() as conn:
            return conn.execute(select(func.max(jobs.c.finished_at)).where(jobs.c.repo == repo)).scalar()

    def deliveries(self, ids: list[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        with self.db.tx() as conn:
            for k in range(0, len(ids), 200):
                for row in conn.execute(select(deliveries.c.delivery_id, deliveries.c.job_ids).where(
                        deliveries.c.forge == "github", deliveries.c.delivery_id.in_(ids[k : k + 200]))):
                    out[row.delivery_id] = list(row.job_ids or [])
        return out

    def close(self) -> None:
        self.db.dispose()


def quiet(rows: Rows, gap: float = DEBOUNCE_GAP, timeout: float = 60) -> None:
    """Wait until no job of the repo is queued or running and the last ended `gap` s ago."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rows.idle(REPO):
            last = rows.last_finished(REPO)
            since = (datetime.now(UTC) - last).total_seconds() if last else gap
            if since >= gap:
                return
            time.sleep(gap - since + 0.01)
        else:
            time.sleep(0.05)
    raise TimeoutError("the repo's jobs did not settle")


def _ts(value: datetime | None) -> float:
    assert value is not None
    return value.timestamp()


# -- target 2: webhook to fetched --------------------------------------------------------------


def webhook_to_fetched(base: str, rows: Rows, forge: Path, plain: Path, clone_url: str,
                       clock: list[int], rounds: int, tag: str) -> dict[str, Any]:
    http = requests.Session()
    svc, bare, answer, queued, running, by_finished = [], [], [], [], [], []
    for k in range(rounds + 1):  # round 0 warms up
        forge_commit([forge], "main", f"hooks/{tag}-{k}.txt", f"{k}\n", clock)
        new = git(forge, "rev-parse", "refs/heads/main")
        d, sig, body = delivery(clone_url, new, k)
        t_plain = sh(plain, PLAIN_FETCH) if k % 2 else 0.0
        quiet(rows)
        wall0 = time.time()
        t0 = time.perf_counter()
        r = http.post(f"{base}/hooks/github", data=body, headers=github_headers(d, sig), timeout=30)
        t_answer = time.perf_counter() - t0
        assert r.status_code == 202 and "jobs" in r.json(), (r.status_code, r.text)
        (job_id,) = r.json()["jobs"]
        seen, job = rows.wait_done(job_id)
        t_svc = seen - t0
        if not k % 2:
            t_plain = sh(plain, PLAIN_FETCH)
        assert job["state"] == "done", job
        assert "refs/heads/main" in job["result"]["remotes"]["origin"]["updated"], job["result"]
        assert git(plain, "rev-parse", "refs/remotes/origin/main") == new
        if k:
            svc.append(t_svc)
            bare.append(t_plain)
            answer.append(t_answer)
            queued.append(_ts(job["started_at"]) - _ts(job["created_at"]))
            running.append(_ts(job["finished_at"]) - _ts(job["started_at"]))
            by_finished.append(_ts(job["finished_at"]) - wall0)
    ratios = [a / p for a, p in zip(svc, bare, strict=True)]
    added = [a - p for a, p in zip(svc, bare, strict=True)]

    def ms(xs: list[float]) -> float:
        return round(statistics.median(xs) * 1000, 1)

    return {
        "rounds": rounds, "webhook_ms": ms(svc), "plain_ms": ms(bare),
        "median_ratio": round(statistics.median(ratios), 2),
        "ratio_of_medians": round(statistics.median(svc) / statistics.median(bare), 2),
        "added_ms": ms(added), "webhook_p90_ms": _pct_ms(svc, 90),
        "answer_ms": ms(answer), "job_queued_ms": ms(queued), "job_running_ms": ms(running),
        "post_to_finished_at_ms": ms(by_finished),
        "webhook_samples_ms": [round(x * 1000, 1) for x in svc],
        "plain_samples_ms": [round(x * 1000, 1) for x in bare],
    }


# -- target 3: bursts --------------------------------------------------------------------------


def prepare_commits(forge: Path, count: int, clock: list[int], tag: str) -> list[str]:
    """`count` commits on top of main, on a ref the service does not fetch; their shas in order."""
    lines = []
    for i in range(count):
        clock[0] += 1
        msg = f"burst {tag} {i}"
        content = f"{i}\n"
        lines += ["commit refs/pending/burst", f"committer Forge <forge@example.com> {clock[0]} +0000",
                  f"data {len(msg)}", msg]
        if i == 0:
            lines.append("from refs/heads/main^0")
        lines += [f"M 644 inline burst/{tag}.txt", f"data {len(content)}", content, ""]
    git(forge, "fast-import", "--quiet", "--force", input="\n".join(lines) + "\n")
    shas = git(forge, "rev-list", "--reverse", "refs/heads/main..refs/pending/burst").split()
    assert len(shas) == count
    return shas


def set_ref(forge: Path, ref: str, sha: str) -> None:
    """Move a loose ref as git does (write a lock file, rename it over), without a process."""
    path = forge / ref
    lock = path.with_name(path.name + ".lock")
    lock.write_text(sha + "\n")
    os.replace(lock, path)


def clone_main(clone: Path) -> str | None:
    loose = clone / "refs/remotes/origin/main"
    try:
        return loose.read_text().strip()
    except FileNotFoundError:
        out = subprocess.run(["git", "--git-dir", str(clone), "rev-parse", "-q", "--verify",
                              "refs/remotes/origin/main"], env=PLAIN_ENV, capture_output=True, text=True)
        return out.stdout.strip() or None


def burst(procs: Processes, rows: Rows, forge: Path, clone: Path, clone_url: str, clock: list[int],
          spread: float, connections: int, tag: str) -> dict[str, Any]:
    quiet(rows, gap=1.0)
    shas = prepare_commits(forge, BURST, clock, tag)
    first_job = rows.max_job_id()
    prepared = [delivery(clone_url, sha, i, before=shas[i - 1] if i else "a" * 40) for i, sha in enumerate(shas)]
    raws = [raw_request(procs.port, *p) for p in prepared]
    offsets = [i * spread / BURST for i in range(BURST)]
    results, clocks = paced(procs.port, raws, offsets, connections,
                            before=lambda i: set_ref(forge, "refs/heads/main", shas[i]))
    wall_start = clocks["start_wall"]
    end = max(r["done"] for r in results)
    end_mono = clocks["start_monotonic"] + end
    # the last commit in the clone, timed from the burst's last answer
    lag = None
    while time.monotonic() < end_mono + 10:
        if clone_main(clone) == shas[-1]:
            lag = time.monotonic() - end_mono
            break
        time.sleep(0.01)
    quiet(rows, gap=0.0)
    answered = [json.loads(r["body"]) if r["status"] == 202 else None for r in results]
    job_ids = sorted({j for a in answered if a for j in a.get("jobs", [])})
    listed = procs.api.ok("GET", f"/api/v1/jobs?repo={REPO}&kind=fetch&limit=500")["jobs"]
    webhook_fetches = [j for j in listed if j["id"] > first_job and j["trigger"] == "webhook"]
    recorded = rows.deliveries([p[0] for p in prepared])
    timeline = []
    for j in sorted(webhook_fetches, key=lambda j: j["id"]):
        row = rows.job(j["id"])
        assert row is not None
        timeline.append([round(_ts(row[f]) - wall_start, 3) if row[f] else None
                         for f in ("created_at", "started_at", "finished_at")])
    return {
        "deliveries": BURST, "spread_s": spread, "connections": connections,
        "sent_and_answered_in_s": round(end, 3),
        "answered_202_with_jobs": sum(1 for a in answered if a and a.get("jobs")),
        "other_answers": [r["status"] for r in results if r["status"] != 202][:10],
        "recorded": len(recorded), "recorded_with_jobs": sum(1 for v in recorded.values() if v),
        "fetch_jobs": len(webhook_fetches), "fetch_jobs_in_answers": len(job_ids),
        "fetch_job_states": sorted({j["state"] for j in webhook_fetches}),
        "jobs_timeline_s": timeline,  # [created, started, finished] from the burst's start
        "last_commit_lag_ms": round(lag * 1000) if lag is not None else None,
        "answer_p50_ms": _pct_ms([r["done"] - r["scheduled"] for r in results], 50),
        "answer_p99_ms": _pct_ms([r["done"] - r["scheduled"] for r in results], 99),
    }


def burst_ok(b: dict[str, Any]) -> bool:
    return (b["fetch_jobs"] <= BURST_JOBS_TARGET and b["answered_202_with_jobs"] == BURST
            and b["recorded_with_jobs"] == BURST and b["last_commit_lag_ms"] is not None
            and b["last_commit_lag_ms"] <= BURST_SECONDS * 1000)


# -- one mode ----------------------------------------------------------------------------------


def run_mode(mode: str, root: Path, forge: Path, plain: Path, clone_url: str, clock: list[int],
             args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with gitferry(mode, root / "data") as procs:
        api = procs.api
        api.ok("POST", "/api/v1/repos", {"name": REPO, "url": clone_url}, status=201)
        api.wait_repo(REPO, timeout=120)
        (clone,) = (root / "data" / "repos").glob("*.git")
        db_url = PG_URL if mode == "redis" else f"sqlite:///{root / 'data' / 'gitferry.sqlite'}"
        rows = Rows(db_url)
        try:
            after = git(forge, "rev-parse", "refs/heads/main")
            results["intake"] = throughput(procs.port, clone_url, after, args.duration, root)
            print(f"  {mode} intake: {results['intake']['rate']}/s", flush=True)
            quiet(rows)
            results["paced"] = latency_at_rate(procs.port, clone_url, after, args.duration)
            print(f"  {mode} at {PACED_RATE}/s: p99 {results['paced']['p99_ms']} ms", flush=True)
            quiet(rows)
            results["fetched"] = webhook_to_fetched(api.base, rows, forge, plain, clone_url, clock, args.rounds, mode)
            print(f"  {mode} webhook to fetched: {results['fetched']['webhook_ms']} ms vs plain "
                  f"{results['fetched']['plain_ms']} ms", flush=True)
            for name, spread in (("paced", BURST_SECONDS), ("at_once", 0.0)):
                b = burst(procs, rows, forge, clone, clone_url, clock, spread, BURST_CONNECTIONS, f"{mode}-{name}")
                results[f"burst_{name}"] = b
                print(f"  {mode} burst {name}: {b['fetch_jobs']} fetch jobs, last commit +{b['last_commit_lag_ms']} ms",
                      flush=True)
        finally:
            rows.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10, help="seconds of each load run (3-30)")
    parser.add_argument("--rounds", type=int, default=20, help="webhook-to-fetched rounds (1-60)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--serve-git", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_git:
        serve_git(args.serve_git)
        return
    args.duration = max(3.0, min(args.duration, 30.0))
    args.rounds = max(1, min(args.rounds, 60))
    os.environ["GITFERRY_WEBHOOK_SECRET"] = HOOK_SECRET  # Processes passes os.environ on

    root = scratch_dir("hooks")
    started = time.perf_counter()
    report: dict[str, Any] = {"git": git(root, "--version"), "wrk": shutil.which("wrk") is not None,
                              "cpus": os.cpu_count(),
                              "server": "gunicorn via service.cli.run_gunicorn, 2 workers (gthread, 8 threads), "
                                        "for gitferry and for bench/bare_flask.py alike",
                              "targets": {"intake_ratio": RATIO_TARGET, "p99_ms_at_200": P99_TARGET_MS,
                                          "fetch_median_ratio_redis": FETCH_RATIO_TARGET,
                                          "fetch_added_ms": ADDED_TARGET_MS, "burst_fetch_jobs": BURST_JOBS_TARGET}}
    try:
        forge = root / "srv" / "forge.git"
        forge.parent.mkdir()
        clock = [build_forge(forge, commits=2000, branches=20, files=300, tags=20)]
        with git_http_server(root / "srv") as (netloc, _):
            clone_url = f"http://{netloc}/forge.git"
            plain = root / "plain"
            subprocess.run(["git", "clone", "-q", clone_url, str(plain)], env=PLAIN_ENV, check=True,
                           capture_output=True)
            report["delivery_bytes"] = len(delivery(clone_url, "b" * 40, 0)[2])
            after = git(forge, "rev-parse", "refs/heads/main")
            with bare_flask(root / "bare.log") as (port, _):
                bare = throughput(port, clone_url, after, args.duration, root, distinct=False)
                print(f"  bare flask: {bare['rate']}/s", flush=True)
                bare_paced = latency_at_rate(port, clone_url, after, args.duration)
            report["bare"] = {"intake": bare, "paced": bare_paced}
            report["modes"] = {}
            for mode in modes(args.mode):
                report["modes"][mode] = run_mode(mode, root / mode, forge, plain, clone_url, clock, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report)
    print(f"total {report['seconds']} s; JSON: {write_json('hooks', report)}")


def _cpu(r: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in r["cpu_seconds"].items())


def print_report(report: dict[str, Any]) -> None:
    bare = report["bare"]
    rows: list[list[Any]] = [
        ["bare", "intake rate (req/s)", bare["intake"]["rate"], "", "", f"generator: {bare['intake']['generator']}"],
        ["bare", f"p99 at {PACED_RATE}/s (ms)", bare["paced"]["p99_ms"], "", "", ""],
    ]
    for mode, res in report["modes"].items():
        intake, pace, f = res["intake"], res["paced"], res["fetched"]
        ratio = round(intake["rate"] / bare["intake"]["rate"], 2)
        distinct = "distinct" if not intake.get("wrapped_threads") else "RAN OUT (some redeliveries)"
        rows += [
            [mode, "intake rate (req/s)", intake["rate"], f"{ratio} of bare", f">= {RATIO_TARGET}",
             ("ok" if ratio >= RATIO_TARGET else "MISS") + f"; {distinct}"],
            [mode, f"p99 at {PACED_RATE}/s (ms)", pace["p99_ms"], f"bare {bare['paced']['p99_ms']}",
             f"< {P99_TARGET_MS}", "ok" if pace["p99_ms"] < P99_TARGET_MS else "MISS"],
            [mode, "webhook->fetched (ms)", f["webhook_ms"], f"plain {f['plain_ms']}; ratio {f['median_ratio']}",
             f"<= {FETCH_RATIO_TARGET}" + (" (redis)" if mode == "redis" else " (info)"),
             "ok" if f["median_ratio"] <= FETCH_RATIO_TARGET else "MISS"],
            [mode, "  added (ms)", f["added_ms"], f"answer {f['answer_ms']}, queued {f['job_queued_ms']}, "
             f"running {f['job_running_ms']}", f"< {ADDED_TARGET_MS}",
             "ok" if f["added_ms"] < ADDED_TARGET_MS else "MISS"],
        ]
        for name in ("paced", "at_once"):
            b = res[f"burst_{name}"]
            rows.append([mode, f"burst {name} (fetch jobs)", b["fetch_jobs"],
                         f"{b['answered_202_with_jobs']}/{BURST} answered, {b['recorded_with_jobs']} recorded, "
                         f"in {b['sent_and_answered_in_s']} s, last commit +{b['last_commit_lag_ms']} ms",
                         f"<= {BURST_JOBS_TARGET}, none lost", "ok" if burst_ok(b) else "MISS"])
    print(table(["mode", "measure", "value", "against", "target", "verdict"], rows))
    cpu = bare["intake"]["cpu_seconds"]
    print(f"generator check: during the bare rate run ({bare['intake']['seconds']} s) the generator used "
          f"{cpu.get('generator')} CPU-s and the bare server {cpu.get('bare')} CPU-s of the 2 cores' "
          f"{round(2 * bare['intake']['seconds'], 1)}")
    print(f"CPU seconds during the bare rate run: {_cpu(bare['intake'])}")
    for mode, res in report["modes"].items():
        print(f"CPU seconds during the {mode} rate run: {_cpu(res['intake'])}")
        print(f"CPU seconds during the {mode} {PACED_RATE}/s run: {_cpu(res['paced'])}")


if __name__ == "__main__":
    main()
