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
  smart HTTP by a child process (bench/servers.py), sharing no GIL with the load generators
  (bench/load.py). The service manages it as repo `bench/hooks`; every delivery names its real
  clone URL, so each is verified, recorded and queues or joins a fetch job. Deliveries are
  GitHub push bodies of about 1.5 KB, each with its own id and body (so its own signature).
- Throughput: `wrk` (`apt-get install -y wrk`), 1 thread, 32 connections, sending pre-signed
  deliveries from a file, each once (bench/wrk_deliveries.lua); the bare endpoint gets the same
  requests. wrk's own CPU time is reported next to the servers', to show the generator is not
  what limits the rate. Without wrk, a Python asyncio closed loop is used (and says so).
  The bare endpoint stays up throughout, and each mode's rate is measured in pairs with it,
  back to back, the order alternating (INTAKE_PAIRS, each run a third of --duration): the
  ratio is the median of the pairs' ratios. This machine's speed drifts by 10-20% from one
  minute to the next, and a bare rate measured once, minutes before, moved the ratio as much.
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
import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    PG_URL,
    PLAIN_ENV,
    FastImport,
    arguments,
    forge_commit,
    gitferry,
    job_phases,
    median_ms,
    modes,
    pct_ms,
    plain_clone,
    scratch,
    sh,
    stats,
    timestamp,
    write_json,
)
from bench.hooks_report import (
    ADDED_TARGET_MS,
    BURST,
    BURST_JOBS_TARGET,
    BURST_SECONDS,
    FETCH_RATIO_TARGET,
    P99_TARGET_MS,
    PACED_RATE,
    RATIO_TARGET,
    print_report,
)
from bench.load import (
    WRK_CONNECTIONS,
    closed_loop,
    delivery,
    have_wrk,
    paced,
    raw_deliveries,
    raw_request,
    run_wrk,
    write_deliveries,
)
from bench.ops import build_forge
from bench.servers import bare_flask, cpu_used, git_http_server
from bench.service_db import Rows
from tests.support.live import HOOK_SECRET, Processes
from tests.support.repos import git

REPO = "bench/hooks"
PACED_CONNECTIONS = 32
BURST_CONNECTIONS = 64
PLAIN_FETCH = "git fetch -q --prune --tags origin"
INTAKE_PAIRS = 3


# -- target 1: intake ------------------------------------------------------------------------


def throughput(port: int, clone_url: str, after: str, seconds: float, scratch: Path,
               distinct: bool = True, warm: bool = True) -> dict[str, Any]:
    """With `warm`, 2 s of warm-up first; then `seconds` of load: with `distinct`, deliveries never
    sent before (as many as the warm-up's rate calls for); without (the bare endpoint reads no
    id), 20,000 sent round."""
    warm_count = 8_000 if distinct else 20_000
    rate_guess = 6_000.0  # unwarmed: more than any mode has reached here

    def enough(warm_rate: float) -> int:
        return int(warm_rate * seconds * 1.5) + 2000  # room to spare, so none goes out twice

    if not have_wrk():
        raws = raw_deliveries(port, clone_url, after, warm_count)
        if warm:
            rate_guess = closed_loop(port, raws, 2, WRK_CONNECTIONS)["rate"]
        if distinct:
            raws = raw_deliveries(port, clone_url, after, enough(rate_guess))
        return closed_loop(port, raws, seconds, WRK_CONNECTIONS)
    warm_file = write_deliveries(scratch / "warm.tsv", clone_url, after, warm_count)
    if warm:
        rate_guess = run_wrk(port, warm_file, 2, scratch)["rate"]
    if not distinct:
        result = run_wrk(port, warm_file, seconds, scratch)
        result["deliveries"] = "20,000 sent round (the bare endpoint reads no id)"
        return result
    count = enough(rate_guess)
    result = run_wrk(port, write_deliveries(scratch / "main.tsv", clone_url, after, count), seconds, scratch)
    result["deliveries"] = f"{count} distinct, " + (
        "RAN OUT: some were sent twice (redeliveries)" if result["wrapped_threads"] else "each sent at most once")
    result["warmup_rate"] = rate_guess
    return result


def paired_intake(bare_port: int, port: int, clone_url: str, after: str, seconds: float,
                  scratch: Path) -> dict[str, Any]:
    """The mode's rate and the bare endpoint's, measured in INTAKE_PAIRS back-to-back pairs (the
    order alternating), each run seconds / INTAKE_PAIRS long; the ratio is the pairs' median."""
    each = max(2.0, seconds / INTAKE_PAIRS)
    throughput(bare_port, clone_url, after, 2, scratch, distinct=False, warm=False)
    mode_runs: list[dict[str, Any]] = []
    bare_runs: list[dict[str, Any]] = []
    warm = True
    for i in range(INTAKE_PAIRS):
        for which in (("bare", "mode") if i % 2 == 0 else ("mode", "bare")):
            if which == "bare":
                bare_runs.append(throughput(bare_port, clone_url, after, each, scratch, distinct=False, warm=False))
            else:
                mode_runs.append(throughput(port, clone_url, after, each, scratch, warm=warm))
                warm = False
    ratios = [m["rate"] / b["rate"] for m, b in zip(mode_runs, bare_runs, strict=True)]
    return {"rate": round(statistics.median(m["rate"] for m in mode_runs), 1),
            "bare_rate": round(statistics.median(b["rate"] for b in bare_runs), 1),
            "ratio": round(statistics.median(ratios), 2), "pair_ratios": [round(r, 2) for r in ratios],
            "wrapped_threads": any(m.get("wrapped_threads") for m in mode_runs),
            "runs": mode_runs, "bare_runs": bare_runs, "cpu_seconds": mode_runs[-1]["cpu_seconds"],
            "bare_cpu_seconds": bare_runs[-1]["cpu_seconds"]}


def latency_at_rate(port: int, clone_url: str, after: str, seconds: float) -> dict[str, Any]:
    n = int(PACED_RATE * seconds)
    raws = raw_deliveries(port, clone_url, after, n)
    with cpu_used() as cpu:
        results, _ = paced(port, raws, [i / PACED_RATE for i in range(n)], PACED_CONNECTIONS)
    lat = [r["latency"] for r in results]
    achieved = n / max(r["done"] for r in results)
    return {"rate": PACED_RATE, "requests": n, "achieved_rate": round(achieved, 1),
            "p50_ms": pct_ms(lat, 50), "p90_ms": pct_ms(lat, 90), "p99_ms": pct_ms(lat, 99),
            "max_ms": round(max(lat) * 1000, 1), "non_202": sum(r["status"] != 202 for r in results),
            "with_jobs": sum(b'"jobs"' in r["body"] for r in results), "cpu_seconds": cpu,
            "generator": f"python asyncio open loop, {PACED_CONNECTIONS} connections"}


# -- target 2: webhook to fetched ------------------------------------------------------------


def webhook_to_fetched(base: str, rows: Rows, forge: Path, plain: Path, clone_url: str,
                       clock: list[int], rounds: int, tag: str) -> dict[str, Any]:
    http = requests.Session()
    svc, bare, answer, queued, running, by_finished = [], [], [], [], [], []
    for k in range(rounds + 1):  # round 0 warms up
        forge_commit([forge], "main", f"hooks/{tag}-{k}.txt", f"{k}\n", clock)
        new = git(forge, "rev-parse", "refs/heads/main")
        body, headers = delivery(clone_url, new, k)
        t_plain = sh(plain, PLAIN_FETCH) if k % 2 else 0.0
        rows.quiet()
        wall0 = time.time()
        t0 = time.perf_counter()
        r = http.post(f"{base}/hooks/github", data=body, headers=headers, timeout=30)
        t_answer = time.perf_counter() - t0
        assert r.status_code == 202 and "jobs" in r.json(), (r.status_code, r.text)
        (job_id,) = r.json()["jobs"]
        seen, job = rows.wait_done(job_id)
        t_svc = seen - t0
        if not k % 2:
            t_plain = sh(plain, PLAIN_FETCH)
        assert job["state"] == "done", job
        assert "refs/heads/main" in [m["ref"] for m in job["result"]["remotes"]["origin"]["updated"]], job["result"]
        assert git(plain, "rev-parse", "refs/remotes/origin/main") == new
        if k:
            svc.append(t_svc)
            bare.append(t_plain)
            answer.append(t_answer)
            q, run = job_phases(job)
            queued.append(q)
            running.append(run)
            by_finished.append(timestamp(job["finished_at"]) - wall0)
    s = stats(svc, bare)
    return {
        "rounds": rounds, "webhook_ms": s["api_ms"], "plain_ms": s["plain_ms"],
        "median_ratio": s["median_ratio"], "ratio_of_medians": s["ratio_of_medians"],
        "added_ms": median_ms([a - p for a, p in zip(svc, bare, strict=True)]), "webhook_p90_ms": pct_ms(svc, 90),
        "answer_ms": median_ms(answer), "job_queued_ms": median_ms(queued), "job_running_ms": median_ms(running),
        "post_to_finished_at_ms": median_ms(by_finished),
        "webhook_samples_ms": s["api_samples_ms"], "plain_samples_ms": s["plain_samples_ms"],
    }


# -- target 3: bursts ------------------------------------------------------------------------


def prepare_commits(forge: Path, count: int, clock: list[int], tag: str) -> list[str]:
    """`count` commits on top of main, on a ref the service does not fetch; their shas in order."""
    fi = FastImport(clock[0])
    for i in range(count):
        fi.commit("refs/pending/burst", f"burst {tag} {i}", {f"burst/{tag}.txt": f"{i}\n"},
                  parent=None if i else "refs/heads/main^0")
    clock[0] = fi.clock
    fi.feed(forge)
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
    """origin/main of the service's clone: the loose ref if there is one (cheap), else rev-parse."""
    try:
        return (clone / "refs/remotes/origin/main").read_text().strip()
    except FileNotFoundError:
        out = subprocess.run(["git", "--git-dir", str(clone), "rev-parse", "-q", "--verify",
                              "refs/remotes/origin/main"], env=PLAIN_ENV, capture_output=True, text=True)
        return out.stdout.strip() or None


def burst(procs: Processes, rows: Rows, forge: Path, clone: Path, clone_url: str, clock: list[int],
          spread: float, connections: int, tag: str) -> dict[str, Any]:
    rows.quiet(gap=1.0)
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
    rows.quiet(gap=0.0)
    answered = [json.loads(r["body"]) if r["status"] == 202 else None for r in results]
    job_ids = sorted({j for a in answered if a for j in a.get("jobs", [])})
    listed = procs.api.ok("GET", f"/api/v1/jobs?repo={REPO}&kind=fetch&limit=500")["jobs"]
    webhook_fetches = [j for j in listed if j["id"] > first_job and j["trigger"] == "webhook"]
    recorded = rows.deliveries([headers["X-GitHub-Delivery"] for _, headers in prepared])
    timeline = []
    for j in sorted(webhook_fetches, key=lambda j: j["id"]):
        row = rows.job(j["id"])
        assert row is not None
        timeline.append([round(timestamp(row[f]) - wall_start, 3) if row[f] else None
                         for f in ("created_at", "started_at", "finished_at")])
    answer_ms = [r["done"] - r["scheduled"] for r in results]
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
        "answer_p50_ms": pct_ms(answer_ms, 50), "answer_p99_ms": pct_ms(answer_ms, 99),
    }


# -- one mode, and main ----------------------------------------------------------------------


def run_mode(mode: str, root: Path, forge: Path, plain: Path, clone_url: str, clock: list[int],
             args: argparse.Namespace, bare_port: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with gitferry(mode, root / "data") as procs:
        api = procs.api
        api.ok("POST", "/api/v1/repos", {"name": REPO, "url": clone_url}, status=201)
        api.wait_repo(REPO, timeout=120)
        (clone,) = (root / "data" / "repos").glob("*.git")
        db_url = PG_URL if mode == "redis" else f"sqlite:///{root / 'data' / 'gitferry.sqlite'}"
        rows = Rows(db_url, REPO)
        try:
            after = git(forge, "rev-parse", "refs/heads/main")
            results["intake"] = paired_intake(bare_port, procs.port, clone_url, after, args.duration, root)
            print(f"  {mode} intake: {results['intake']['rate']}/s, {results['intake']['ratio']} of bare "
                  f"({results['intake']['bare_rate']}/s; pairs {results['intake']['pair_ratios']})", flush=True)
            rows.quiet()
            results["paced"] = latency_at_rate(procs.port, clone_url, after, args.duration)
            print(f"  {mode} at {PACED_RATE}/s: p99 {results['paced']['p99_ms']} ms", flush=True)
            rows.quiet()
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
    parser = arguments(__doc__, rounds=20, rounds_help="webhook-to-fetched rounds (1-60)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of each load run (3-30)")
    args = parser.parse_args()
    args.duration = max(3.0, min(args.duration, 30.0))
    args.rounds = max(1, min(args.rounds, 60))
    os.environ["GITFERRY_WEBHOOK_SECRET"] = HOOK_SECRET  # Processes passes os.environ on

    started = time.perf_counter()
    with scratch("hooks", args.keep) as root:
        report: dict[str, Any] = {
            "git": git(root, "--version"), "wrk": have_wrk(), "cpus": os.cpu_count(),
            "server": "gunicorn via service.cli.run_gunicorn, 2 workers (gthread, 16 threads), "
                      "for gitferry and for bench/bare_flask.py alike",
            "targets": {"intake_ratio": RATIO_TARGET, "p99_ms_at_200": P99_TARGET_MS,
                        "fetch_median_ratio_redis": FETCH_RATIO_TARGET, "fetch_added_ms": ADDED_TARGET_MS,
                        "burst_fetch_jobs": BURST_JOBS_TARGET}}
        forge = root / "srv" / "forge.git"
        forge.parent.mkdir()
        clock = [build_forge(forge, commits=2000, branches=20, files=300, tags=20)]
        with git_http_server(root / "srv") as netloc:
            clone_url = f"http://{netloc}/forge.git"
            plain = plain_clone(clone_url, root / "plain")
            report["delivery_bytes"] = len(delivery(clone_url, "b" * 40, 0)[0])
            after = git(forge, "rev-parse", "refs/heads/main")
            with bare_flask(root) as bare_port:  # up throughout: each mode's rate is paired with its
                bare = throughput(bare_port, clone_url, after, args.duration, root, distinct=False)
                print(f"  bare flask: {bare['rate']}/s", flush=True)
                bare_paced = latency_at_rate(bare_port, clone_url, after, args.duration)
                report["bare"] = {"intake": bare, "paced": bare_paced}
                report["modes"] = {}
                for mode in modes(args.mode):
                    report["modes"][mode] = run_mode(mode, root / mode, forge, plain, clone_url, clock, args,
                                                     bare_port)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report)
    print(f"total {report['seconds']} s; JSON: {write_json('hooks', report)}")


if __name__ == "__main__":
    main()
