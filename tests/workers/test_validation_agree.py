"""The web's name checks (domain) and the engine's own (defence in depth) must agree."""

from __future__ import annotations

import pytest

from service.domain.validation import InvalidValue, check_ref_name, check_remote_name
from workers.git import GitError
from workers.git import validate as engine

NAMES = ["main", "feature/x", "a..b", "-x", "--upload-pack=evil", "refs/heads/x", "with space", "x.lock",
         "@{u}", "HEAD", "@", "a/.b", "a//b", "end.", "/lead", "trail/", "ü-unicode", "x" * 256, "tab\tx",
         "a:b", "a~1", "a^", "a?", "a*", "a[", "a\\b", "release-1.0", "v1.2.3", "_under", ".dot",
         "FETCH_HEAD", "ORIG_HEAD", "CHERRY_PICK_HEAD", "head", "Head-start", "refs", "REFS",
         "fix\u202egnp.exe", "a\u2066b", "mark\u200f", "arabic-\u0627"]


def accepts(check, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(name)
    except (InvalidValue, GitError):
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_branch_rules_agree(name: str) -> None:
    assert accepts(check_ref_name, name) == accepts(engine.branch_name, name)


@pytest.mark.parametrize("name", [*NAMES, "origin", "alice-fork", "up.stream", "a/b"])
def test_remote_rules_agree(name: str) -> None:
    assert accepts(check_remote_name, name) == accepts(engine.remote_name, name)
