"""Branch listing with ahead/behind against one `git for-each-ref --format='%(upstream:track)'`.

Target (issue): on a repo with 2,000 branches, GET /api/v1/repos/{name}/branches at most 1.5x
one `git for-each-ref --format='%(refname) %(upstream:track)' refs/heads` on a plain clone
with the same 2,000 tracking branches.

The forge has 2,000 feature branches. Both the service and the plain clone get a local branch
tracking each. The first --api-branches are created through POST /branches (timed: that is
the realistic way); the rest are written straight into the service's clone under its clone
lock, as creating all 2,000 one job at a time takes too long (the per-branch cost is reported).
Then the forge moves three quarters of the branches (behind / ahead / diverged), both sides
fetch, and the listing is timed.

    .venv/bin/python -m bench.branches [--mode embedded|redis|both] [--rounds 30]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PLAIN_ENV,
    FastImport,
    arguments,
    copy_repo,
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

REPO = "bench/listing"  # not ".../branches": GET /repos/{name} would hit the branches route
TARGET = 1.5
PLAIN_LIST = "git for-each-ref --format='%(refname) %(upstream:track)' refs/heads"


def feature(i: int) -> str:
    return f"feature/{i:04d}"


def build_forge(path: Path, commits: int, branches: int) -> int:
    """Main with `commits` commits; feature branches forked along its last part, one commit each."""
    init_bare(path)
    fi = FastImport()
    marks = [
        fi.commit("refs/heads/main", f"change {j}", {f"src/f{j % 500:03d}.txt": f"v{j}\n"}) for j in range(commits)
    ]
    for i in range(branches):
        fi.commit(
            f"refs/heads/{feature(i)}",
            f"feature {i}",
            {f"features/{i:04d}.txt": "1\n"},
            parent=f":{marks[-1 - (i * 2) % len(marks)]}",
        )
    fi.feed(path)
    git(path, "repack", "-adq")
    return fi.clock


def move_forge(forges: tuple[Path, ...], branches: int, clock: int) -> dict[str, int]:
    """Per i % 4: 0 stays, 1 gets a commit (behind 1), 2 is rewound (ahead 1), 3 is replaced (both)."""
    fi = FastImport(clock)
    for i in range(branches):
        ref = f"refs/heads/{feature(i)}"
        if i % 4 == 1:
            fi.commit(ref, f"feature {i} more", {f"features/{i:04d}.txt": "2\n"}, parent=f"{ref}^0")
        elif i % 4 == 2:
            fi.reset(ref, f"{ref}^1")
        elif i % 4 == 3:
            fi.commit(ref, f"feature {i} redone", {f"features/{i:04d}.txt": "3\n"}, parent=f"{ref}^1")
    fi.feed(*forges)
    return {
        "same": (branches + 3) // 4,
        "behind": (branches + 2) // 4,
        "ahead": (branches + 1) // 4,
        "diverged": branches // 4,
    }


def seed_tracking_branches(git_dir: Path, names: list[str]) -> None:
    """Local branches at origin/<name> with origin/<name> as upstream, in two git calls."""
    refs = "".join(f"create refs/heads/{n} refs/remotes/origin/{n}\n" for n in names)
    git(git_dir, "update-ref", "--stdin", input=refs)
    # `git config` per branch costs a process each; append the sections in one write.
    config = git(git_dir, "rev-parse", "--git-path", "config")
    with open(git_dir / config if not os.path.isabs(config) else config, "a") as f:
        f.writelines(f'[branch "{n}"]\n\tremote = origin\n\tmerge = refs/heads/{n}\n' for n in names)


def seed_service_clone(clone: Path, names: list[str]) -> None:
    """As seed_tracking_branches, holding the worker's clone lock so no job runs meanwhile."""
    fd = os.open(clone.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        seed_tracking_branches(clone, names)
    finally:
        os.close(fd)


def plain_track(plain: Path) -> dict[str, tuple[int, int]]:
    """branch -> (ahead, behind) as plain git sees it."""
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:lstrip=2)\t%(upstream:track,nobracket)", "refs/heads"],
        cwd=plain,
        env=PLAIN_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    result = {}
    for line in out.stdout.splitlines():
        name, track = line.split("\t")
        counts = dict(part.strip().split(" ") for part in track.split(",") if part.strip())
        result[name] = (int(counts.get("ahead", 0)), int(counts.get("behind", 0)))
    return result


def compare(api_branches: list[dict[str, Any]], plain: dict[str, tuple[int, int]]) -> list[str]:
    served = {b["name"]: (b["ahead"], b["behind"]) for b in api_branches}
    diffs = [f"{n}: api {served.get(n)} git {plain[n]}" for n in sorted(plain) if served.get(n) != plain[n]]
    diffs += [f"{n}: only in api" for n in served.keys() - plain.keys()]
    return diffs


def run_mode(mode: str, root: Path, template: Path, clock: int, args: argparse.Namespace) -> dict[str, Any]:
    forges = (copy_repo(template, root / "forge-svc.git"), copy_repo(template, root / "forge-plain.git"))
    names = [feature(i) for i in range(args.branches)]
    plain = plain_clone(forges[1], root / "plain")
    seed_tracking_branches(plain / ".git", names)
    res: dict[str, Any] = {}
    with gitferry(mode, root / "data") as procs:
        api: Api = procs.api
        api.ok("POST", "/api/v1/repos", {"name": REPO, "url": file_url(forges[0])}, status=201)
        api.wait_repo(REPO, timeout=120)
        (clone,) = (root / "data" / "repos").glob("*.git")
        path = f"/api/v1/repos/{REPO}"

        # The realistic way first: one POST /branches (one job) per branch.
        created: list[float] = []
        for name in names[: args.api_branches]:
            seconds, _ = timed(
                api.ok, "POST", f"{path}/branches", {"name": name, "start_point": f"origin/{name}"}, status=201
            )
            created.append(seconds)
        seed_service_clone(clone, names[args.api_branches :])
        res["create_branch_api_ms"] = {
            "n": len(created),
            "first_10_median": round(statistics.median(created[:10]) * 1000, 1) if created else None,
            "last_10_median": round(statistics.median(created[-10:]) * 1000, 1) if created else None,
        }

        res["forge_moves"] = move_forge(forges, args.branches, clock)
        t_api, job = timed(api.run, f"{path}/fetch", {}, wait=60)
        assert job["state"] == "done", job
        t_plain = sh(plain, "git fetch -q --prune --tags origin")
        res["fetch_after_moves_ms"] = {"api": round(t_api * 1000, 1), "plain": round(t_plain * 1000, 1)}

        # Every job re-reads all refs with ahead/behind; this is what a no-op fetch costs now.
        fetch_api, fetch_plain, running = [], [], []
        for _ in range(args.fetch_rounds):
            t, job = timed(api.run, f"{path}/fetch", {}, wait=60)
            assert job["state"] == "done", job
            fetch_api.append(t)
            running.append(job_phases(job)[1])
            fetch_plain.append(sh(plain, "git fetch -q --prune --tags origin"))
        res["fetch_nothing_new"] = stats(fetch_api, fetch_plain)
        res["fetch_nothing_new"]["job_running_ms"] = round(statistics.median(running) * 1000, 1)

        listed = api.ok("GET", f"{path}/branches", status=200)
        res["mismatches"] = compare(listed["branches"], plain_track(plain))
        res["branches_listed"] = len(listed["branches"])
        res["remote_branches_listed"] = len(listed["remote_branches"])
        res["list"] = listing(api, path, plain, args.rounds)

        # And what one more branch costs now that 2,000 exist (compare the first 10 above).
        late = [
            timed(api.ok, "POST", f"{path}/branches", {"name": f"late/{k}", "start_point": "origin/main"}, status=201)[
                0
            ]
            for k in range(5)
        ]
        res["create_branch_api_ms"]["with_all_branches_median"] = round(statistics.median(late) * 1000, 1)
    return res


def listing(api: Api, path: str, plain: Path, rounds: int) -> dict[str, Any]:
    """GET branches against plain git's listing, taking turns at who goes first (the first round is a warm-up)."""
    list_api, list_plain = [], []
    for k in range(rounds + 1):
        if k % 2:
            t_plain = sh(plain, PLAIN_LIST)
        t_api, response = timed(api.call, "GET", f"{path}/branches")
        assert response.status_code == 200, response.text
        if not k % 2:
            t_plain = sh(plain, PLAIN_LIST)
        if k:
            list_api.append(t_api)
            list_plain.append(t_plain)
    found = stats(list_api, list_plain)
    found["response_bytes"] = len(response.content)
    return found


def main() -> None:
    parser = arguments(__doc__, rounds=30)
    parser.add_argument("--branches", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--api-branches", type=int, default=100, help="branches created through the API")
    parser.add_argument("--fetch-rounds", type=int, default=10)
    args = parser.parse_args()
    args.api_branches = min(args.api_branches, args.branches)

    started = time.perf_counter()
    with scratch("branches", args.keep) as root:
        clock = build_forge(root / "template.git", args.commits, args.branches)
        report: dict[str, Any] = {"forge": {"commits": args.commits, "branches": args.branches},
                                  "target_ratio": TARGET, "git": git(root, "--version"), "modes": {}}
        for mode in modes(args.mode):
            t0 = time.perf_counter()
            report["modes"][mode] = run_mode(mode, root / mode, root / "template.git", clock, args)
            report["modes"][mode]["bench_seconds"] = round(time.perf_counter() - t0, 1)
    report["seconds"] = round(time.perf_counter() - started, 1)

    rows = []
    for mode, res in report["modes"].items():
        for label, r in (
            ("GET branches vs for-each-ref", res["list"]),
            ("fetch, nothing new", res["fetch_nothing_new"]),
        ):
            verdict = ("ok" if r["median_ratio"] <= TARGET else "MISS") if label.startswith("GET") else ""
            rows.append(
                [
                    mode,
                    label,
                    r["rounds"],
                    r["api_ms"],
                    r["plain_ms"],
                    r["median_ratio"],
                    r["ratio_of_medians"],
                    verdict,
                ]
            )
        c = res["create_branch_api_ms"]
        rows.append(
            [
                mode,
                f"POST branches: first 10 / last 10 of {c['n']} / at {args.branches}",
                "",
                f"{c['first_10_median']} / {c['last_10_median']} / {c['with_all_branches_median']}",
                "",
                "",
                "",
                "",
            ]
        )
        if res["mismatches"]:
            print(f"{mode}: {len(res['mismatches'])} ahead/behind mismatches, e.g. {res['mismatches'][:3]}")
    print(table(["mode", "what", "n", "api ms", "git ms", "median ratio", "ratio of medians", f"<= {TARGET}"], rows))
    print(f"total {report['seconds']} s; JSON: {write_json('branches', report)}")


if __name__ == "__main__":
    main()
