"""The dashboard's server time: the overview with 1,000 repos and a repo page with 2,000 branches
(issue 16: each under 300 ms).

Runs the web app in this process on a SQLite store filled directly (what jobs would have recorded:
each repo's refs, and two remotes with their last fetches, every seventh repo's upstream failing),
signs in with Flask's test client and times each page, so the figure is the server's own time: no
network, no browser.

    python -m bench.dashboard [--repos 1000] [--branches 2000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import time
from datetime import timedelta
from typing import Any

from bench.common import scratch_dir, table, write_json
from service.domain.records import RemoteFetch
from service.domain.types import utcnow
from service.settings import load_settings
from service.web import create_app
from tests.dashboard.conftest import sign_in
from tests.support.live import ADMIN

TARGET_MS = 300.0


def sha(n: int | str) -> str:
    return hashlib.sha1(str(n).encode()).hexdigest()


def snapshot(branches: int) -> dict[str, Any]:
    """Refs as a worker records them: every local branch tracking origin's, some ahead or behind."""
    return {"branches": [{"name": f"topic/{k}", "sha": sha(k), "upstream": f"origin/topic/{k}",
                          "ahead": k % 3, "behind": k % 5, "gone": False} for k in range(branches)],
            "remote_branches": [{"remote": "origin", "name": f"topic/{k}", "sha": sha(f"o{k}")}
                                for k in range(branches)],
            "tags": [], "pending": False}


def timed_pages(client: Any, path: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        page = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert page.status_code == 200, page.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--branches", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    root = scratch_dir("dashboard")
    try:
        app = create_app(load_settings({"GITFERRY_DATA_DIR": str(root / "data"), "GITFERRY_ADMIN_TOKEN": ADMIN,
                                        "GITFERRY_FETCH_INTERVAL": "0"}))
        store = app.extensions["gitferry"].store
        for n in range(args.repos):
            repo = store.repos.create(f"acme/repo-{n}", f"https://example.com/acme/repo-{n}.git",
                                      pull_strategy=None, fetch_interval=None, protected_branches=[])
            store.repos.ready(repo.id)
            store.repos.save_refs(repo.id, snapshot(args.branches if n == 0 else 10))
            store.repos.add_remote(repo.id, "upstream", f"https://example.com/upstream/repo-{n}.git")
            at = utcnow() - timedelta(minutes=n % 90)
            upstream = RemoteFetch("upstream", at, "not_found", "repository not found") if n % 7 == 0 \
                else RemoteFetch("upstream", at)
            store.repos.remotes_fetched(repo.id, (RemoteFetch("origin", at), upstream))
        client = app.test_client()
        sign_in(client)
        overview = timed_pages(client, "/dashboard/", args.rounds)
        repo_page = timed_pages(client, "/dashboard/repos/acme/repo-0", args.rounds)
        store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    results = {"overview": overview, "repo_page": repo_page}
    medians = {page: round(statistics.median(ms), 1) for page, ms in results.items()}
    rows = [[f"overview, {args.repos} repos", len(overview), medians["overview"], max(overview)],
            [f"repo page, {args.branches} branches", len(repo_page), medians["repo_page"], max(repo_page)]]
    print(table(["page", "n", "median ms", "max ms"], [[*r[:3], round(r[3], 1)] for r in rows]))
    for page, median in medians.items():
        print(f"{page}: median {median} ms ({'meets' if median < TARGET_MS else 'MISSES'} the target {TARGET_MS} ms)")
    write_json("dashboard", {"repos": args.repos, "branches": args.branches, "target_ms": TARGET_MS,
                               "median_ms": medians})


if __name__ == "__main__":
    main()
