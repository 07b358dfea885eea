"""Sync rules: which rules a fetch sets off."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from service.domain.records import Rule


def moved_branches(fetched: Mapping[str, Any]) -> set[str]:
    """Branches a fetch of one remote created or moved (deleted ones set off nothing); `fetched`
    is the fetch's result for the remote, its "updated" a list of {"ref", "old", "new"}."""
    return {move["ref"].removeprefix("refs/heads/") for move in fetched.get("updated", [])
            if move["ref"].startswith("refs/heads/")}


def rules_to_run(rules: Iterable[Rule], remote: str, fetched: Mapping[str, Any]) -> list[Rule]:
    """The rules watching a branch of `remote` that this fetch moved, in name order."""
    moved = moved_branches(fetched)
    return sorted((r for r in rules if r.remote == remote and r.branch in moved), key=lambda r: r.name)
