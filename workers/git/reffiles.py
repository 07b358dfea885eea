"""Reading refs and settings straight from the files git keeps them in, without running git.

Every job reads all of a clone's refs at least once, and for a fetch the refs are most of
what the job does besides fetching: starting git for them cost more than the reading. The
"files" ref backend is simple and stable (packed-refs plus one file per loose ref), and git
writes both by renaming a finished lock file into place, so a reader never sees half a ref.
Anything unexpected (another ref backend, a file we cannot parse) makes these readers
return None, and the caller asks git instead.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")


def read_refs(git_dir: Path) -> dict[str, str] | None:
    """refname -> object name for every ref under refs/ (symbolic refs left out), or None."""
    if (git_dir / "reftable").exists():
        return None
    packed = _packed_refs(git_dir)
    loose = _loose_refs(git_dir) if packed is not None else None
    if packed is None or loose is None:
        return None
    refs = dict(packed)
    # Loose refs override packed ones: a ref updated since the last pack-refs is loose.
    for name, target in loose.items():
        if target is None:
            refs.pop(name, None)  # a symbolic ref (refs/remotes/origin/HEAD)
        else:
            refs[name] = target
    return refs


def _loose_refs(git_dir: Path) -> dict[str, str | None] | None:
    """refname -> object name of each loose ref (None for a symbolic one); None if one is unreadable."""
    found: dict[str, str | None] = {}
    folders = [(os.path.join(str(git_dir), "refs"), "refs/")]
    while folders:
        folder, prefix = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError:
            return None
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append((entry.path, f"{prefix}{entry.name}/"))
                continue
            if entry.name.endswith(".lock"):
                continue
            try:
                content = _small_file(entry.path).decode("ascii").strip()
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError):
                return None
            if not content.startswith("ref: ") and not _SHA.match(content):
                return None
            found[prefix + entry.name] = None if content.startswith("ref: ") else content
    return found


def _small_file(path: str, limit: int = 4096) -> bytes:
    """A loose ref's bytes. A text-mode open() cost three times the read itself, and a clone
    keeps up to a hundred loose refs, read twice by every fetch."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, limit)
    finally:
        os.close(fd)
    if len(data) >= limit:
        raise OSError(f"{path}: too big for a ref")
    return data


# packed-refs as last parsed, per clone (the most recently read ones): a fetch reads the refs
# before and after, and its job once more, and packed-refs rarely changes in between (git
# writes updated refs loose). Parsing it was most of each read.
_PACKED: OrderedDict[str, tuple[tuple[int, int, int], dict[str, str]]] = OrderedDict()
_PACKED_KEPT = 64


def _packed_refs(git_dir: Path) -> dict[str, str] | None:
    """The refs in packed-refs (do not modify), or None if it cannot be parsed."""
    path = git_dir / "packed-refs"
    try:
        with open(path, encoding="utf-8") as fh:
            st = os.fstat(fh.fileno())  # git replaces the file (a new inode) to change it
            identity = (st.st_ino, st.st_mtime_ns, st.st_size)
            seen = _PACKED.get(str(path))
            if seen is not None and seen[0] == identity:
                _PACKED.move_to_end(str(path))
                return seen[1]
            text = fh.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        return None
    refs: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line[0] in "#^":
            continue  # header, or the peeled object of the annotated tag above
        sha, _, name = line.partition(" ")
        if not _SHA.match(sha) or not name.startswith("refs/"):
            return None
        refs[name] = sha
    _PACKED[str(path)] = (identity, refs)
    while len(_PACKED) > _PACKED_KEPT:
        _PACKED.popitem(last=False)
    return refs


def config_identity(git_dir: Path) -> tuple[int, int, int] | None:
    """Changes whenever the repository's config does: git rewrites it (new inode) on every change."""
    try:
        st = os.stat(git_dir / "config")
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
