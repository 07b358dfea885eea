"""Reads of a clone through the API against the same git run bare on the same clone.

Targets (issue 15): GET /api/v1/repos/{name}/commits?limit=50 against `git log -n 50`, and
GET /api/v1/repos/{name}/compare/{base}...{head} against `git rev-list --left-right`, each
run by hand on the service's own clone: a median ratio of at most 1.5, and in Redis mode
under 30 ms added at the median.

The forge has --commits commits on main, and a branch `feature` forked --behind commits back
with --ahead commits of its own; the service clones and fetches it, and the comparison is
origin/main...origin/feature. API call and plain git take turns, the first round left out.
A worker remembers answers by the shas asked of (workers/git/history.py): repeated reads of
the same refs are measured, and "cold" reads, each round of another branch, too.

    .venv/bin/python -m bench.reads [--mode embedded|redis|both] [--rounds 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import FastImport, arguments, gitferry, init_bare, modes, scratch, sh, stats, table, timed, write_json
from tests.support.live import Api
from tests.support.repos import file_url, git

REPO = "bench/reads"
TARGET_RATIO = 1.5
TARGET_ADDED_MS = 30.0  # Redis mode
LOG = "git log -n 50 --format='%H %P %an %ae %aI %cI %s' origin/main --"
LEFT_RIGHT = "git rev-list --left-right origin/main...origin/feature --"


def build_forge(path: Path, commits: int, behind: int, ahead: int) -> None:
    """main with `commits` commits; `feature` forked `behind` commits before main's tip, with `ahead` of its own."""
    init_bare(path)
    fi = FastImport()
    marks = [fi.commit("refs/heads/main", f"change {j}", {f"src/f{j % 300:03d}.txt": f"v{j}\n"})
             for j in range(commits)]
    parent = f":{marks[-1 - behind]}"
    for j in range(ahead):
        mark = fi.commit("refs/heads/feature", f"feature {j}", {f"feature/{j}.txt": "x\n"}, parent=parent)
        parent = f":{mark}"
    fi.feed(path)
    git(path, "repack", "-adq")


def turns(api: Api, clone: Path, rounds: int, call: Callable[[int], tuple[str, str]]) -> dict[str, Any]:
    """API call and plain git in turns (which goes first alternates); round 0 is a warm-up.
    call(k): round k's API path and plain git command."""
    api_s, plain_s = [], []
    for k in range(rounds + 1):
        path, plain = call(k)
        if k % 2:
            t_plain = sh(clone, plain)
        t_api, response = timed(api.call, "GET", path)
        assert response.status_code == 200, response.text
        if not k % 2:
            t_plain = sh(clone, plain)
        if k:
            api_s.append(t_api)
            plain_s.append(t_plain)
    result = stats(api_s, plain_s)
    result["added_ms_at_median"] = round(statistics.median(a - p for a, p in zip(api_s, plain_s, strict=True))
                                         * 1000, 1)
    return result


def run_mode(mode: str, root: Path, forge: Path, args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {}
    with gitferry(mode, root / "data") as procs:
        api: Api = procs.api
        api.ok("POST", "/api/v1/repos", {"name": REPO, "url": file_url(forge)}, status=201)
        api.wait_repo(REPO, timeout=120)
        (clone,) = (root / "data" / "repos").glob("*.git")
        compared = api.ok("GET", f"/api/v1/repos/{REPO}/compare/origin/main...origin/feature")
        assert (compared["ahead"]["total"], compared["behind"]["total"]) == (args.ahead, args.behind), compared
        listed = api.ok("GET", f"/api/v1/repos/{REPO}/commits?ref=origin/main&limit=50")["commits"]
        assert [c["sha"] for c in listed] == git(clone, "rev-list", "-n", "50", "origin/main").split()
        path = f"/api/v1/repos/{REPO}"
        res["commits"] = turns(api, clone, args.rounds, lambda k: (f"{path}/commits?ref=origin/main&limit=50", LOG))
        res["compare"] = turns(api, clone, args.rounds,
                               lambda k: (f"{path}/compare/origin/main...origin/feature", LEFT_RIGHT))
        # Cold: each round asks of another branch, so no worker has the answer yet (the same work:
        # 50 commits; the comparison a few commits fewer behind). Branch at/<k> is main~(k+1).
        older = git(forge, "rev-list", "-n", str(args.rounds + 1), "main~1").split()
        git(forge, "update-ref", "--stdin", input="".join(f"update refs/heads/at/{k} {sha}\n"
                                                          for k, sha in enumerate(older)))
        assert api.run(f"{path}/fetch", {}, wait=60)["state"] == "done"
        res["commits_cold"] = turns(api, clone, args.rounds, lambda k: (
            f"{path}/commits?ref=origin/at/{k}&limit=50", LOG.replace("origin/main", f"origin/at/{k}")))
        res["compare_cold"] = turns(api, clone, args.rounds, lambda k: (
            f"{path}/compare/origin/at/{k}...origin/feature", LEFT_RIGHT.replace("origin/main", f"origin/at/{k}")))
        jobs = api.ok("GET", f"/api/v1/jobs?repo={REPO}")["jobs"]
        res["jobs_after_reads"] = len(jobs)  # the clone job alone: reads are not jobs
    return res


def main() -> None:
    parser = arguments(__doc__, rounds=50)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--behind", type=int, default=300)
    parser.add_argument("--ahead", type=int, default=40)
    args = parser.parse_args()

    started = time.perf_counter()
    with scratch("reads", args.keep) as root:
        build_forge(root / "forge.git", args.commits, args.behind, args.ahead)
        report: dict[str, Any] = {"forge": {"commits": args.commits, "behind": args.behind, "ahead": args.ahead},
                                  "target_ratio": TARGET_RATIO, "target_added_ms_redis": TARGET_ADDED_MS,
                                  "git": git(root, "--version"), "modes": {}}
        for mode in modes(args.mode):
            report["modes"][mode] = run_mode(mode, root / mode, root / "forge.git", args)
    report["seconds"] = round(time.perf_counter() - started, 1)

    rows = []
    for mode, res in report["modes"].items():
        for label, r in (("GET commits?limit=50 vs git log -n 50", res["commits"]),
                         ("GET compare vs rev-list --left-right", res["compare"]),
                         ("  the same, each round another branch", res["commits_cold"]),
                         ("  the same, each round another base", res["compare_cold"])):
            ok = r["median_ratio"] <= TARGET_RATIO and (mode != "redis" or r["added_ms_at_median"] < TARGET_ADDED_MS)
            rows.append([mode, label, r["rounds"], r["api_ms"], r["plain_ms"], r["added_ms_at_median"],
                         r["median_ratio"], "ok" if ok else "MISS"])
    print(table(["mode", "what", "n", "api ms", "git ms", "ms added", "median ratio",
                 f"<= {TARGET_RATIO} (redis: < {TARGET_ADDED_MS:g} ms)"], rows))
    print(f"total {report['seconds']} s; JSON: {write_json('reads', report)}")


if __name__ == "__main__":
    main()
