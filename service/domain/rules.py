"""Sync rules: which rules a fetch sets off."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def moved_branches(fetched: Mapping[str, Any]) -> set[str]:
    """Branches a fetch of one remote created or moved (deleted ones set off nothing)."""
    return {ref.removeprefix("refs/heads/") for ref in fetched.get("updated", [])
            if ref.startswith("refs/heads/")}


def rules_to_run(rules: Iterable[Mapping[str, Any]], remote: str, fetched: Mapping[str, Any]) -> list[Any]:
    """The rules watching a branch of `remote` that this fetch moved, in name order."""
    moved = moved_branches(fetched)
    return sorted((r for r in rules if r["remote"] == remote and r["branch"] in moved),
                  key=lambda r: r["name"])
