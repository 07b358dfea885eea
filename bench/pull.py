"""A dry-run pull against the real pull of the same history, each strategy, in one run.

Target (issue 15): a dry run costs at most 1.2 times the real pull (median ratio). Two clones
of one forge: dry runs in one, real pulls in the other. Each round makes the same branch in
both (at the forge's main, with a commit of its own but for ff-only, tracking origin/main),
gives the forge a new upstream commit, then times a dry run in the one and what a pull job
does in the other (fetch the remote, then pull): both fetch the new commit, both pull the
same history. Through the engine calls the worker makes (Clone.preview_pull; Clone.fetch and
Clone.pull).

    .venv/bin/python -m bench.pull [--rounds 15] [--commits 2000] [--files 1000]
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import FastImport, arguments, init_bare, median_ms, scratch, table, timed, write_json
from tests.support.repos import file_url, git
from workers.git import Clone, GitConfig

STRATEGIES = ("ff-only", "ff-or-merge", "rebase")
TARGET = 1.2
PAD = "lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4


def build_forge(path: Path, commits: int, files: int) -> FastImport:
    """Bare forge: `commits` on main, each editing one of `files` files."""
    init_bare(path)
    fi = FastImport()

    def name(n: int) -> str:
        return f"src/d{n % 50:02d}/f{n:04d}.txt"

    fi.commit("refs/heads/main", "initial", {name(n): f"{n} v0\n{PAD}\n" for n in range(files)})
    for j in range(1, commits):
        n = (j * 7) % files
        fi.commit("refs/heads/main", f"change {j}", {name(n): f"{n} v{j}\n{PAD}\n"})
    fi.feed(path)
    return fi


def round_of(forge: Path, dry: Clone, real: Clone, fi: FastImport, n: int, strategy: str) -> tuple[float, float]:
    """(dry-run seconds, real pull seconds) of one branch, made alike in both clones."""
    branch = f"r{n}-{strategy}"
    base = git(forge, "rev-parse", "refs/heads/main")
    for clone in (dry, real):
        clone.create_branch(branch, base, track=False)
        clone.set_upstream(branch, "origin", "main")
    if strategy != "ff-only":  # a commit of the branch's own: a merge or a rebase to do
        fi.commit(f"refs/heads/{branch}", f"own {n}", {f"own/{n}.txt": f"own {n}\n"}, parent=f"refs/heads/{branch}^0")
        fi.feed(dry.path, real.path)
        dry.forget()
        real.forget()
    fi.commit("refs/heads/main", f"upstream {n}", {f"up/{n}.txt": f"up {n}\n"}, parent="refs/heads/main^0")
    fi.feed(forge)
    dry_seconds, preview = timed(dry.preview_pull, branch, strategy)

    def pull() -> Any:  # what a pull job does
        real.fetch("origin")
        return real.pull(branch, strategy)

    real_seconds, done = timed(pull)
    assert (preview.outcome, preview.conflicts) == (done.outcome, done.conflicts), (preview, done)
    assert done.outcome == {"ff-only": "fast-forwarded", "ff-or-merge": "merged", "rebase": "rebased"}[strategy]
    return dry_seconds, real_seconds


def main() -> None:
    parser = arguments(__doc__, rounds=15, modes=False)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    with scratch("pull", args.keep) as root:
        fi = build_forge(root / "forge.git", args.commits, args.files)
        config = GitConfig(allow_protocols=("file",), allow_local_hosts=True)
        clones = [Clone(root / f"{name}.git", config) for name in ("dry", "real")]
        for clone in clones:
            clone.create(file_url(root / "forge.git"))
        samples: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in STRATEGIES}
        for n in range(args.rounds):
            for strategy in STRATEGIES:
                dry, real = round_of(root / "forge.git", *clones, fi, n, strategy)
                samples[strategy][0].append(dry)
                samples[strategy][1].append(real)
    report: dict[str, Any] = {"commits": args.commits, "files": args.files, "target_ratio": TARGET,
                              "git": git(Path.cwd(), "--version"), "strategies": {}}
    for strategy, (dry, real) in samples.items():
        ratios = [d / r for d, r in zip(dry, real, strict=True)]
        report["strategies"][strategy] = {"rounds": len(dry), "dry_run_ms": median_ms(dry), "pull_ms": median_ms(real),
                                          "median_ratio": round(statistics.median(ratios), 2)}
    every = [d / r for dry, real in samples.values() for d, r in zip(dry, real, strict=True)]
    report["median_ratio"] = round(statistics.median(every), 2)
    report["seconds"] = round(time.perf_counter() - started, 1)
    rows = [[s, r["rounds"], r["dry_run_ms"], r["pull_ms"], r["median_ratio"]] for s, r in report["strategies"].items()]
    print(table(["strategy", "rounds", "dry run ms", "pull ms", "ratio"], rows))
    verdict = "meets" if report["median_ratio"] <= TARGET else "misses"
    print(f"dry run / pull, median of every round: {report['median_ratio']} ({verdict} the target {TARGET})")
    print(f"written to {write_json('pull', report)}")


if __name__ == "__main__":
    main()
