"""bench.hooks's targets, and its report of how each mode measured against them."""

from __future__ import annotations

from typing import Any

from bench.common import table

RATIO_TARGET = 0.5
P99_TARGET_MS = 50.0
PACED_RATE = 200
FETCH_RATIO_TARGET = 1.3
ADDED_TARGET_MS = 100.0
BURST = 500
BURST_SECONDS = 2.0
BURST_JOBS_TARGET = 5


def burst_ok(b: dict[str, Any]) -> bool:
    return (b["fetch_jobs"] <= BURST_JOBS_TARGET and b["answered_202_with_jobs"] == BURST
            and b["recorded_with_jobs"] == BURST and b["last_commit_lag_ms"] is not None
            and b["last_commit_lag_ms"] <= BURST_SECONDS * 1000)


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
        ratio = intake["ratio"]
        distinct = "distinct" if not intake.get("wrapped_threads") else "RAN OUT (some redeliveries)"
        rows += [
            [mode, "intake rate (req/s)", intake["rate"],
             f"{ratio} of bare ({intake['bare_rate']}/s alongside; pairs {intake['pair_ratios']})",
             f">= {RATIO_TARGET}", ("ok" if ratio >= RATIO_TARGET else "MISS") + f"; {distinct}"],
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
        print(f"CPU seconds during the {mode} rate run (the last of its pairs): {_cpu(res['intake'])}")
        print(f"CPU seconds during the {mode} {PACED_RATE}/s run: {_cpu(res['paced'])}")
