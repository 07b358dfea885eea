"""Shared helpers for the benchmarks: forge building, timing, running gitferry, reporting."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.live import Processes
from tests.support.repos import GIT_ENV, git

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
REDIS_DB = 14
PG_DB = "gitferry_bench"
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
BASE_ENV = {"GITFERRY_FETCH_INTERVAL": "0", "GITFERRY_ALLOW_LOCAL_REMOTES": "1", "GITFERRY_LOG_LEVEL": "WARNING"}
# Plain git as a person would run it, minus their config; merges must not open an editor.
PLAIN_ENV = {**os.environ, **GIT_ENV, "GIT_MERGE_AUTOEDIT": "no"}


# -- forges ----------------------------------------------------------------------------------


class FastImport:
    """Builds a `git fast-import` stream; commits get increasing fixed times, so equal streams
    fed to equal repos give equal shas."""

    def __init__(self, start_time: int = 1_704_110_400):
        self.lines: list[str] = []
        self.clock = start_time
        self.mark = 0

    def commit(self, ref: str, message: str, files: dict[str, str], parent: str | None = None,
               merge: str | None = None) -> int:
        """Add a commit on `ref` (parent: ':mark', a ref expression, or None = branch tip; `merge`: a
        second parent, the same way); return its mark."""
        self.mark += 1
        self.clock += 1
        msg = message.encode()
        self.lines += [
            f"commit {ref}",
            f"mark :{self.mark}",
            f"committer Forge <forge@example.com> {self.clock} +0000",
            f"data {len(msg)}",
            message,
        ]
        if parent:
            self.lines.append(f"from {parent}")
        if merge:
            self.lines.append(f"merge {merge}")
        for path, content in files.items():
            self.lines += [f"M 644 inline {path}", f"data {len(content.encode())}", content]
        self.lines.append("")
        return self.mark

    def reset(self, ref: str, target: str) -> None:
        self.lines += [f"reset {ref}", f"from {target}", ""]

    def feed(self, *repos: Path) -> None:
        stream = "\n".join(self.lines) + "\n"
        for repo in repos:
            git(repo, "fast-import", "--quiet", "--force", input=stream)
        self.lines = []


def init_bare(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--bare", "--initial-branch=main")
    return path


def forge_commit(forges: Sequence[Path], branch: str, path: str, content: str, clock: list[int]) -> None:
    """One new commit on an existing branch of each forge (same stream everywhere)."""
    fi = FastImport(clock[0])
    fi.commit(f"refs/heads/{branch}", f"upstream change {path}", {path: content}, parent=f"refs/heads/{branch}^0")
    clock[0] = fi.clock
    fi.feed(*forges)


def copy_repo(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def plain_clone(forge: Path | str, path: Path) -> Path:
    """Clone a forge (a path, or a URL as is) with plain git."""
    url = forge if isinstance(forge, str) else forge.resolve().as_uri()
    subprocess.run(["git", "clone", "--quiet", url, str(path)], env=PLAIN_ENV, check=True, capture_output=True)
    return path


def arguments(doc: str, rounds: int, *, modes: bool = True, rounds_help: str | None = None) -> argparse.ArgumentParser:
    """The options every bench takes (--mode when it runs both, --rounds, --keep); it adds its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if modes:
        parser.add_argument("--mode", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=rounds, help=rounds_help)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return parser


@contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A new scratch folder, removed afterwards unless kept."""
    root = Path(tempfile.mkdtemp(prefix=f"gitferry-bench-{prefix}-"))
    try:
        yield root
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


# -- timing ----------------------------------------------------------------------------------


def sh(cwd: Path, command: str) -> float:
    """Run a shell command (plain git) in `cwd`; seconds it took. Fails loudly."""
    started = time.perf_counter()
    proc = subprocess.run(command, shell=True, cwd=cwd, env=PLAIN_ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"`{command}` failed in {cwd}:\n{proc.stderr}")
    return elapsed


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def pct_ms(seconds: list[float], pct: float) -> float:
    """The `pct` percentile in ms, nearest rank from above; NaN when there are no values."""
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(pct / 100 * len(ordered)))] * 1000, 1)


def stats(api: list[float], plain: list[float]) -> dict[str, Any]:
    """Medians (ms) and ratios: of the medians, and the median of per-round ratios."""
    ratios = [a / p for a, p in zip(api, plain, strict=True)]
    return {
        "rounds": len(api),
        "api_ms": median_ms(api),
        "plain_ms": median_ms(plain),
        "api_p90_ms": round(sorted(api)[int(0.9 * (len(api) - 1))] * 1000, 1),
        "ratio_of_medians": round(statistics.median(api) / statistics.median(plain), 2),
        "median_ratio": round(statistics.median(ratios), 2),
        "api_samples_ms": [round(x * 1000, 1) for x in api],
        "plain_samples_ms": [round(x * 1000, 1) for x in plain],
    }


def timestamp(value: str | datetime) -> float:
    """Epoch seconds of a job timestamp, as the API (ISO text) or the database (datetime) gives it."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.timestamp()


def job_phases(job: dict[str, Any]) -> tuple[float, float]:
    """(seconds queued, seconds running) of a finished job, from its timestamps."""
    created, started, finished = (timestamp(job[f]) for f in ("created_at", "started_at", "finished_at"))
    return started - created, finished - started


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(name: str, data: Any) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


# -- running gitferry ------------------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True, capture_output=True)


def _flush_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-n", str(REDIS_DB), "FLUSHDB"], check=True, capture_output=True)


@contextmanager
def gitferry(mode: str, data_dir: Path) -> Iterator[Processes]:
    """gitferry in `mode`: 'embedded' (`gitferry serve`) or 'redis' (web + worker + beat on
    Redis db 14 and PostgreSQL database gitferry_bench, both emptied before and after)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if mode == "embedded":
        procs = Processes(data_dir, BASE_ENV)
        try:
            yield procs.serve()
        finally:
            procs.stop_all()
        return
    _flush_redis()
    _psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    _psql(f"CREATE DATABASE {PG_DB}")
    procs = Processes(data_dir, {**BASE_ENV, "GITFERRY_BROKER_URL": REDIS_URL, "GITFERRY_DATABASE_URL": PG_URL})
    try:
        procs.web()  # first, so it alone brings the schema up to date
        procs.start("worker", "worker")
        procs.start("beat", "beat")
        yield procs
    finally:
        procs.stop_all()
        _flush_redis()
        _psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def modes(choice: str) -> list[str]:
    return ["embedded", "redis"] if choice == "both" else [choice]
