"""Each operation through the API with ?wait against the same plain git commands.

Target (issue): fetch, pull (ff-only, ff-or-merge on a diverged branch, rebase on a diverged
branch) and push on a repo of 5,000 commits and 200 branches: median ratio API / plain git at
most 1.3, embedded and Redis mode.

The service and the plain clone each get their own copy of one forge, and every upstream
change is fed to both as the same fast-import stream, so both see identical histories (until
the push rounds, which move each forge's main their own way).

    .venv/bin/python -m bench.ops [--mode embedded|redis|both] [--rounds 15] [--ops fetch,push]
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import (
    FastImport,
    arguments,
    copy_repo,
    forge_commit,
    gitferry,
    init_bare,
    job_phases,
    modes,
    plain_clone,
    scratch,
    sh,
    stats,
    table,
    timed,
    write_json,
)
from tests.support.live import Api
from tests.support.repos import file_url, git

REPO = "bench/ops"
OPS = ("fetch", "pull ff-only", "pull ff-or-merge", "pull rebase", "push")
TARGET = 1.3
PAD = "lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4


def build_forge(path: Path, commits: int, branches: int, files: int, tags: int) -> int:
    """Bare forge: `commits` on main (each edits one of `files` files), `branches` side
    branches forked near main's tip with two commits each, `tags` tags. Returns its clock."""
    init_bare(path)
    fi = FastImport()

    def name(n: int) -> str:
        return f"src/d{n % 50:02d}/f{n:04d}.txt"

    marks = [fi.commit("refs/heads/main", "initial", {name(n): f"{n} v0\n{PAD}\n" for n in range(files)})]
    for j in range(1, commits):
        n = (j * 7) % files
        marks.append(fi.commit("refs/heads/main", f"change {j}", {name(n): f"{n} v{j}\n{PAD}\n"}))
    for i in range(branches):
        ref = f"refs/heads/side/{i:03d}"
        fi.commit(ref, f"side {i}: one", {f"side/{i:03d}.txt": "one\n"}, parent=f":{marks[-1 - 3 * i]}")
        fi.commit(ref, f"side {i}: two", {f"side/{i:03d}.txt": "one\ntwo\n"})
    for t in range(tags):
        fi.reset(f"refs/tags/v{t}", f":{marks[t * (commits // tags)]}")
    fi.feed(path)
    git(path, "repack", "-adq")
    return fi.clock


class OpsBench:
    """One service repo and one plain clone, kept in step; prepares and times each op."""

    def __init__(self, api: Api, forges: tuple[Path, Path], plain: Path, clock: int, clone: Path):
        self.api, self.forges, self.plain = api, forges, plain
        self.clock = [clock]
        self.svc_clone = clone
        self.tree_mismatches: list[str] = []

    def path(self, tail: str) -> str:
        return f"/api/v1/repos/{REPO}/{tail}"

    def upstream_change(self, op: str, k: int) -> None:
        forge_commit(self.forges, "main", f"bench/{op.replace(' ', '-')}-{k}.txt", f"{k}\n", self.clock)

    def local_branch(self, name: str, side: int, pull_rebase: bool = False) -> None:
        """Branch `name` from origin/side/<side> with origin/main as upstream, on both sides."""
        start = f"origin/side/{side:03d}"
        self.api.ok("POST", self.path("branches"), {"name": name, "start_point": start}, status=201)
        self.api.ok("PUT", self.path(f"branches/{name}/upstream"), {"remote": "origin", "branch": "main"}, status=200)
        sh(self.plain, f"git checkout -q -b {name} {start} && git branch -q -u origin/main")
        if pull_rebase:
            job = self.api.run(self.path("pull"), {"branch": name, "strategy": "rebase"}, wait=60)
            assert job["result"]["outcome"] == "rebased", job
            sh(self.plain, "git pull -q --rebase")

    def prepare(self, op: str, k: int) -> tuple[str, dict[str, Any], str, str]:
        """Untimed setup for round k; returns (API op, body, expected outcome, plain command)."""
        self.upstream_change(op, k)
        if op == "fetch":
            fi = FastImport(self.clock[0])
            fi.reset(f"refs/tags/bench-{k}", "refs/heads/main^0")
            fi.feed(*self.forges)
            return "fetch", {}, "updated", "git fetch -q --prune --tags origin"
        if op == "pull ff-only":
            sh(self.plain, "git checkout -q main")
            return "pull", {"branch": "main", "strategy": "ff-only"}, "fast-forwarded", "git pull -q --ff-only"
        if op == "pull ff-or-merge":
            self.local_branch(f"merge/{k}", k)
            return "pull", {"branch": f"merge/{k}", "strategy": "ff-or-merge"}, "merged", "git pull -q --no-rebase"
        if op == "pull rebase":
            self.local_branch(f"rebase/{k}", 60 + k)
            return "pull", {"branch": f"rebase/{k}", "strategy": "rebase"}, "rebased", "git pull -q --rebase"
        if op == "push":
            self.local_branch(f"push/{k}", 120 + k, pull_rebase=True)
            return "push", {"branch": f"push/{k}"}, "pushed", "git push -q origin HEAD:main"
        raise ValueError(op)

    def call_api(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.run(self.path(kind), body, wait=60)

    def check(self, op: str, job: dict[str, Any], expect: str) -> None:
        assert job["state"] == "done", job
        result = job["result"]
        if op == "fetch":
            assert result["remotes"]["origin"]["updated"], job
            return
        assert result["outcome"] == expect, job
        if op in ("pull ff-or-merge", "pull rebase"):
            # Same inputs on both sides: the resulting trees must match.
            ours = git(self.svc_clone, "rev-parse", f"{result['after']}^{{tree}}")
            theirs = git(self.plain, "rev-parse", "HEAD^{tree}")
            if ours != theirs:
                self.tree_mismatches.append(f"{op} {job['params']['branch']}: {ours} != {theirs}")

    def run(self, op: str, rounds: int) -> dict[str, Any]:
        api_times: list[float] = []
        plain_times: list[float] = []
        queued: list[float] = []
        running: list[float] = []
        for k in range(rounds + 1):  # round 0 warms up and is not counted
            kind, body, expect, command = self.prepare(op, k)
            if k % 2:
                t_plain = sh(self.plain, command)
            t_api, job = timed(self.call_api, kind, body)
            if not k % 2:
                t_plain = sh(self.plain, command)
            self.check(op, job, expect)
            if k:
                api_times.append(t_api)
                plain_times.append(t_plain)
                q, r = job_phases(job)
                queued.append(q)
                running.append(r)
        result = stats(api_times, plain_times)
        result["job_queued_ms"] = round(statistics.median(queued) * 1000, 1)
        result["job_running_ms"] = round(statistics.median(running) * 1000, 1)
        return result


def run_mode(mode: str, root: Path, template: Path, clock: int, rounds: int, ops: tuple[str, ...]) -> dict[str, Any]:
    forges = (copy_repo(template, root / "forge-svc.git"), copy_repo(template, root / "forge-plain.git"))
    t_plain_clone, plain = timed(plain_clone, forges[1], root / "plain")
    with gitferry(mode, root / "data") as procs:
        api = procs.api
        started = time.perf_counter()
        api.ok("POST", "/api/v1/repos", {"name": REPO, "url": file_url(forges[0])}, status=201)
        api.wait_repo(REPO, timeout=120)
        t_clone = time.perf_counter() - started
        (svc_clone,) = (root / "data" / "repos").glob("*.git")
        bench = OpsBench(api, forges, plain, clock, svc_clone)
        results: dict[str, Any] = {"clone": {"api_ms": round(t_clone * 1000), "plain_ms": round(t_plain_clone * 1000)}}
        for op in ops:
            started = time.perf_counter()
            results[op] = bench.run(op, rounds)
            results[op]["bench_seconds"] = round(time.perf_counter() - started, 1)
            print(f"  {mode} {op}: median ratio {results[op]['median_ratio']}", flush=True)
        results["tree_mismatches"] = bench.tree_mismatches
    return results


def main() -> None:
    parser = arguments(__doc__, rounds=15, rounds_help="timed rounds per op (1-59)")
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--ops", default=",".join(OPS), help=f"comma-separated, from: {', '.join(OPS)}")
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 59))
    ops = tuple(op.strip() for op in args.ops.split(","))
    if unknown := [op for op in ops if op not in OPS]:
        parser.error(f"unknown op(s): {', '.join(unknown)}")
    if args.branches < 180:
        parser.error("--branches must be at least 180 (each op round uses its own side branch)")

    started = time.perf_counter()
    with scratch("ops", args.keep) as root:
        clock = build_forge(root / "template.git", args.commits, args.branches, args.files, tags=50)
        report: dict[str, Any] = {
            "forge": {"commits": args.commits, "branches": args.branches, "files": args.files,
                      "build_seconds": round(time.perf_counter() - started, 1)},
            "target_ratio": TARGET,
            "git": git(root, "--version"),
            "modes": {},
        }
        for mode in modes(args.mode):
            report["modes"][mode] = run_mode(mode, root / mode, root / "template.git", clock, rounds, ops)
    report["seconds"] = round(time.perf_counter() - started, 1)

    print_report(report, ops)


def print_report(report: dict[str, Any], ops: tuple[str, ...]) -> None:
    rows = []
    for mode, res in report["modes"].items():
        for op in ops:
            r = res[op]
            rows.append([mode, op, r["rounds"], r["api_ms"], r["plain_ms"], r["median_ratio"], r["ratio_of_medians"],
                         r["job_queued_ms"], r["job_running_ms"], "ok" if r["median_ratio"] <= TARGET else "MISS"])
        clone = res["clone"]
        rows.append([mode, "(clone)", 1, clone["api_ms"], clone["plain_ms"],
                     round(clone["api_ms"] / clone["plain_ms"], 2), "", "", "", ""])
        if res["tree_mismatches"]:
            print(f"{mode}: merge/rebase trees differ from plain git: {res['tree_mismatches']}")
    print(table(["mode", "op", "n", "api ms", "git ms", "median ratio", "ratio of medians", "job queued ms",
                 "job running ms", f"<= {TARGET}"], rows))
    print(f"forge built in {report['forge']['build_seconds']} s; total {report['seconds']} s; "
          f"JSON: {write_json('ops', report)}")

if __name__ == "__main__":
    main()
