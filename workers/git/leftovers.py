"""What killed gits leave in a clone: lock files, temporary files, and packs kept for a fetch.

git removes its lock and temporary files when it exits, even on most signals, but not when it is
SIGKILLed: with its worker, or at its time limit. A lock left behind fails the next git that
needs it, and objects/maintenance.lock makes every later `git maintenance run --auto` skip,
silently: loose objects then pile up for good. Only clear a clone holding its lock: no git of
ours is running in it then, so each such file is a leftover.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

# Directories git puts lock files in, looked through before every job (refs/ is walked whole).
# objects/ itself holds the 256 loose object directories: only its one known lock is looked at.
_LOCK_DIRS = (".", "objects/info", "objects/info/commit-graphs")
_KNOWN_LOCKS = ("objects/maintenance.lock",
                # `git gc` tells a gc of its own from a leftover by the pid in here; a pid used
                # again by something else makes every gc --auto skip for up to 12 hours.
                "gc.pid")
# A .keep file keeps its pack out of every repack. gitferry never keeps a pack on purpose; git
# keeps one only while a fetch (index-pack --keep="fetch-pack <pid> on <host>") or a push into
# the repository ("receive-pack ...") has yet to update the refs, and says so in the file. A
# .keep that says anything else was put there by someone on purpose, and stays.
_TRANSIENT_KEEPS = (b"fetch-pack ", b"receive-pack ")


def clear(path: Path, *, thorough: bool = False) -> list[str]:
    """Remove what killed gits left in the clone at `path`; the paths removed, relative to it.
    `thorough` also looks through the loose object directories for half-written objects (after
    a worker died; otherwise `git gc` prunes them, two weeks on)."""
    root = str(path)
    removed = []
    for found in _leftovers(root, thorough):
        try:
            os.unlink(found)
        except FileNotFoundError:
            continue
        removed.append(os.path.relpath(found, root))
    return removed


# Strings rather than Paths: this runs before every job, and pathlib's joins cost more than the
# directory reads.
def _leftovers(root: str, thorough: bool) -> Iterator[str]:
    for folder in _LOCK_DIRS:
        yield from _named(os.path.join(root, folder), lambda name: name.endswith(".lock"))
    for folder, _dirs, files in os.walk(os.path.join(root, "refs")):
        yield from (os.path.join(folder, name) for name in files if name.endswith(".lock"))
    yield from (os.path.join(root, name) for name in _KNOWN_LOCKS)
    packs = _named(os.path.join(root, "objects", "pack"),
                   lambda name: name.endswith((".lock", ".keep")) or name.startswith("tmp_"))
    yield from (found for found in packs if not found.endswith(".keep") or _transient(found))
    if thorough:
        objects = os.path.join(root, "objects")
        yield from _named(objects, lambda name: name.endswith(".lock"))
        for loose in _named(objects, lambda name: len(name) == 2):
            yield from _named(loose, lambda name: name.startswith("tmp_obj_"))


def _named(folder: str, wanted: Callable[[str], bool]) -> list[str]:
    """The entries of `folder` whose name `wanted` accepts (none if it is not there)."""
    try:
        with os.scandir(folder) as entries:
            return [entry.path for entry in entries if wanted(entry.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _transient(keep: str) -> bool:
    try:
        with open(keep, "rb") as file:
            return file.read(64).startswith(_TRANSIENT_KEEPS)
    except FileNotFoundError:
        return False
