"""Refs read from git's files must be exactly what git itself lists."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import Forge
from tests.support.repos import git
from workers.git import Clone
from workers.git.reffiles import read_refs


def git_listing(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname) %(symref)")
    return {name: sha for name, sha, symref in (line.split(" ") for line in out.splitlines()) if not symref}


def test_packed_loose_symbolic_and_annotated_refs_read_as_git_lists_them(clone: Clone, forge: Forge) -> None:
    main = clone.branch("main").sha
    git(forge.path, "tag", "-a", "-m", "release", "v1", "main")  # annotated: packed with a peeled line
    clone.fetch("origin")
    git(clone.path, "pack-refs", "--all")
    newer = forge.commit("later.txt", "x\n", "later")
    clone.fetch("origin")  # origin/main is loose again and overrides the packed one
    git(clone.path, "update-ref", "refs/heads/topic/deep", main)
    git(clone.path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")

    found = read_refs(clone.path)
    assert found == git_listing(clone.path)
    assert found["refs/remotes/origin/main"] == newer
    assert found["refs/remote-tags/origin/v1"] == git(clone.path, "rev-parse", "refs/remote-tags/origin/v1")
    assert "refs/remotes/origin/HEAD" not in found


def test_refs_read_again_after_git_rewrote_packed_refs_are_git_s_new_listing(clone: Clone, forge: Forge) -> None:
    """packed-refs is parsed once per version of the file: each read after git rewrote it (a
    pack, a packed ref deleted) lists what git lists, and what a caller does to one answer does
    not reach the next."""
    main = clone.branch("main").sha
    git(clone.path, "update-ref", "refs/heads/old", main)
    git(clone.path, "pack-refs", "--all")
    first = read_refs(clone.path)
    assert first == git_listing(clone.path) and "refs/heads/old" in first
    first.clear()
    assert read_refs(clone.path) == git_listing(clone.path)
    git(clone.path, "update-ref", "-d", "refs/heads/old")  # rewrites packed-refs without it
    git(clone.path, "update-ref", "refs/heads/new", main)
    git(clone.path, "pack-refs", "--all")
    again = read_refs(clone.path)
    assert again == git_listing(clone.path) and "refs/heads/old" not in again and "refs/heads/new" in again


def test_a_ref_file_it_cannot_read_leaves_the_answer_to_git(clone: Clone) -> None:
    (clone.path / "refs" / "heads" / "odd").write_text("not a sha\n")
    assert read_refs(clone.path) is None
    clone.forget()
    # The engine then asks git, which skips the broken ref as it always does.
    assert {b.name for b in clone.refs().branches} == {"main"}


def test_housekeeping_packs_what_jobs_left_loose(clone: Clone, forge: Forge) -> None:
    git(clone.path, "config", "transfer.unpackLimit", "1")  # every fetch keeps its own pack
    git(clone.path, "config", "gc.autoPackLimit", "2")
    for n in range(3):
        forge.commit(f"f{n}.txt", f"{n}\n", f"change {n}")
        clone.fetch("origin")
    main = clone.branch("main").sha
    git(clone.path, "update-ref", "--stdin", input="".join(f"create refs/heads/b{n:03d} {main}\n" for n in range(150)))
    def packs() -> list[Path]:
        return list((clone.path / "objects" / "pack").glob("*.pack"))
    assert len(packs()) >= 3  # fetches no longer start gc themselves

    clone.housekeeping()

    assert len(packs()) == 1
    assert not list((clone.path / "refs" / "heads").iterdir())  # b000..b149 and main all packed
    clone.forget()
    assert len(clone.refs().branches) == 151
