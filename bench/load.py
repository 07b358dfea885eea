"""Signed GitHub push deliveries and the load generators that send them: wrk, an asyncio open
loop paced to a schedule, and an asyncio closed loop for when wrk is missing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import pct_ms
from bench.servers import cpu_used
from tests.hooks.signing import github, github_push
from tests.support.live import HOOK_SECRET

HOST = "127.0.0.1"
WRK_CONNECTIONS = 32
WRK_SCRIPT = Path(__file__).with_name("wrk_deliveries.lua")
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


# -- deliveries ------------------------------------------------------------------------------


def delivery(clone_url: str, after: str, seq: int, before: str = "a" * 40) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a GitHub push of about 1.5 KB as GitHub shapes it, with a new delivery id."""
    payload = github_push(clone_url, full_name="bench/forge", after=after, before=before)
    web = clone_url.removesuffix(".git")
    forge_user = {"name": "Forge", "email": "forge@example.com", "username": "forge"}
    commit = {
        "id": after, "tree_id": hashlib.sha1(f"tree{seq}".encode()).hexdigest(), "distinct": True,
        "message": f"bench change {seq}\n\nA webhook benchmark commit.", "timestamp": "2024-01-01T12:00:00Z",
        "url": f"{web}/commit/{after}", "author": forge_user, "committer": forge_user,
        "added": [f"bench/{seq}.txt"], "removed": [], "modified": ["README.md"],
    }
    payload.update({
        "base_ref": None, "compare": f"{web}/compare/{before[:12]}...{after[:12]}",
        "commits": [commit], "head_commit": commit,
        "pusher": {"name": "forge", "email": "forge@example.com"},
        "sender": {"login": "forge", "id": 1000 + seq, "type": "User", "site_admin": False},
    })
    payload["repository"].update({"id": 4242, "name": "forge", "private": False, "default_branch": "main",
                                  "owner": {"login": "bench", "id": 7, "type": "Organization"}})
    return github(payload, HOOK_SECRET)


def raw_request(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    head = ["POST /hooks/github HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(head).encode() + body


def raw_deliveries(port: int, clone_url: str, after: str, count: int) -> list[bytes]:
    return [raw_request(port, *delivery(clone_url, after, i)) for i in range(count)]


def write_deliveries(path: Path, clone_url: str, after: str, count: int) -> Path:
    """`count` deliveries as lines of wrk_deliveries.lua's file: id TAB signature hex TAB body."""
    with open(path, "wb") as out:
        for i in range(count):
            body, headers = delivery(clone_url, after, i)
            signature = headers["X-Hub-Signature-256"].removeprefix("sha256=")
            out.write(f"{headers['X-GitHub-Delivery']}\t{signature}\t".encode() + body + b"\n")
    return path


# -- wrk -------------------------------------------------------------------------------------


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(port: int, deliveries_file: Path, seconds: float, scratch: Path) -> dict[str, Any]:
    """One wrk run (1 thread) sending the file's deliveries; its figures and the CPU used meanwhile."""
    out_path = scratch / "wrk.out"
    cmd = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(WRK_SCRIPT), f"http://{HOST}:{port}", "--", str(deliveries_file), "1", f"{HOST}:{port}"]
    with cpu_used() as cpu, open(out_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4, for wrk's own CPU time
        proc.returncode = os.waitstatus_to_exitcode(status)
    cpu["generator"] = round(usage.ru_utime + usage.ru_stime, 2)
    text = out_path.read_text()
    line = next((x for x in text.splitlines() if x.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text[-3000:]}")
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    seconds_run = result.pop("duration_us") / 1e6
    result["seconds"] = round(seconds_run, 2)
    result["rate"] = round(result["requests"] / seconds_run, 1)
    result["generator"] = f"wrk -t1 -c{WRK_CONNECTIONS}"
    result["cpu_seconds"] = cpu
    return result


# -- asyncio clients -------------------------------------------------------------------------


class HttpPool:
    """Raw HTTP/1.1 keep-alive connections for the asyncio clients."""

    def __init__(self, port: int, size: int):
        self.port, self.size = port, size
        self.free: asyncio.Queue[Connection] = asyncio.Queue()

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
    async def _roundtrip(conn: Connection, raw: bytes) -> tuple[int, bytes, bool]:
        """(status, body, whether the server closes the connection) of one request."""
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
                 before: Callable[[int], None] | None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    pool = HttpPool(port, connections)
    await pool.open()
    loop = asyncio.get_running_loop()
    results: list[dict[str, Any]] = [{} for _ in raws]
    start = loop.time() + 0.05  # loop.time() is time.monotonic()
    clocks = {"start_monotonic": start, "start_wall": time.time() + 0.05}

    async def one(i: int, raw: bytes, scheduled: float) -> None:
        try:
            status, body = await pool.send(raw)
        except (OSError, asyncio.IncompleteReadError) as exc:
            status, body = 0, repr(exc).encode()
        results[i] = {"scheduled": scheduled - start, "latency": loop.time() - scheduled, "status": status,
                      "body": body, "done": loop.time() - start}

    tasks: list[asyncio.Future[None]] = []
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
    return results, clocks


def paced(port: int, raws: list[bytes], offsets: list[float], connections: int,
          before: Callable[[int], None] | None = None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Open loop: request i goes out offsets[i] s after the start, whatever came back. Returns results
    (s from the start; latency from the scheduled time) and the start {"start_monotonic", "start_wall"}."""
    return asyncio.run(_paced(port, raws, offsets, connections, before))


def closed_loop(port: int, raws: list[bytes], seconds: float, connections: int) -> dict[str, Any]:
    """Fallback throughput generator when wrk is missing: `connections` clients back to back."""

    async def run() -> tuple[list[float], int, float]:
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
        return latencies, bad, elapsed

    with cpu_used() as cpu:
        latencies, bad, elapsed = asyncio.run(run())
    n = len(latencies)
    return {"requests": n, "seconds": round(elapsed, 2), "rate": round(n / elapsed, 1), "other_status": bad,
            "wrapped_threads": int(n > len(raws)), "p99_ms": pct_ms(latencies, 99),
            "generator": f"python asyncio closed loop, {connections} connections (wrk not installed)",
            "cpu_seconds": cpu}
