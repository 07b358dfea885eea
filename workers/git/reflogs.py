"""Reflogs on every ref of a clone, which `git pull --rebase` needs to find fork points."""

from __future__ import annotations

import re
from pathlib import Path

from .runner import Runner

# A clone keeps a reflog for every ref it updates, remote-tracking refs included.
KEY, VALUE = "core.logAllRefUpdates", "always"
_SET = re.compile(r"^\s*logallrefupdates\s*=\s*always\s*$", re.IGNORECASE | re.MULTILINE)


def keep_reflogs(runner: Runner, clone_path: Path) -> None:
    """Make a clone made before gitferry set core.logAllRefUpdates=always keep reflogs from
    now on. A look at the config file first, so that clones already set cost no git call."""
    try:
        text = (clone_path / "config").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    if not _SET.search(text):
        runner.run(["config", KEY, VALUE])
