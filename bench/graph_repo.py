"""The repo bench.dashboard's repo page and commit graph are measured on: a real forge and gitferry's
real clone of it, with `branches` local branches each tracking the forge's branch of the same name.

main has `commits` commits, every 8th a merge of a three-commit side branch; the forge's `branches`
topic branches point all along that history (the graph's labels), and a third of the local ones are
one commit behind their upstream.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import FastImport, init_bare
from tests.support.live import Api
from tests.support.repos import file_url, git

NAME = "bench/graph"


def build_forge(path: Path, commits: int, branches: int) -> None:
    init_bare(path)
    fi = FastImport()
    main = [fi.commit("refs/heads/main", "change 0", {"f0.txt": "0\n"})]
    every: list[int] = list(main)
    for j in range(1, commits):
        merged = None
        if j % 8 == 0 and len(main) > 3:  # a side branch off main three commits back, merged now
            side = main[-3]
            for s in range(3):
                side = fi.commit(f"refs/heads/side/{j}", f"side {j}.{s}", {f"side/{j}.txt": f"{s}\n"}, f":{side}")
                every.append(side)
            merged = f":{side}"
        message = f"merge side/{j}" if merged else f"change {j}"
        main.append(fi.commit("refs/heads/main", message, {f"f{j % 50}.txt": f"{j}\n"}, f":{main[-1]}",
                              merge=merged))
        every.append(main[-1])
    for k in range(branches):
        fi.reset(f"refs/heads/topic/{k}", f":{every[(k * 7) % len(every)]}")
    fi.feed(path)
    git(path, "repack", "-adq")


def add_tracking_branches(clone: Path, branches: int) -> None:
    """Local branch topic/k for each of the forge's, with origin/topic/k as its upstream; every third
    one commit behind it (where it has a parent)."""
    tips = git(clone, "rev-parse", *[f"origin/topic/{k}" for k in range(branches)]).split()
    first_parent = {line.split()[0]: line.split()[1] for line in git(
        clone, "rev-list", "--no-walk", "--parents", *set(tips)).splitlines() if len(line.split()) > 1}
    git(clone, "update-ref", "--stdin", input="".join(
        f"update refs/heads/topic/{k} {first_parent.get(tip, tip) if k % 3 == 0 else tip}\n"
        for k, tip in enumerate(tips)))
    with (clone / "config").open("a") as config:
        config.write("".join(f'[branch "topic/{k}"]\n\tremote = origin\n\tmerge = refs/heads/topic/{k}\n'
                             for k in range(branches)))


def add_repo(api: Api, data_dir: Path, forge: Path, branches: int) -> Path:
    """The repo added through the API, cloned by the worker, its local branches made, its refs recorded."""
    api.ok("POST", "/api/v1/repos", {"name": NAME, "url": file_url(forge)}, status=201)
    api.wait_repo(NAME, timeout=300)
    (clone,) = (data_dir / "repos").glob("*.git")
    add_tracking_branches(clone, branches)
    assert api.run(f"/api/v1/repos/{NAME}/fetch", {}, wait=60)["state"] == "done"
    listed = api.ok("GET", f"/api/v1/repos/{NAME}/branches")["branches"]
    assert len(listed) == branches + 1, len(listed)  # and main
    return clone
