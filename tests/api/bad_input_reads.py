"""Bad input for the reads of a clone, commits and compare (bad_input_cases.py adds these to its table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from tests.api.bad_input_cases import BAD_REFS, R, case


def read_query_cases() -> Iterator[Any]:
    """Commits and compare: bad refs and limits are 422, before the repo's state is looked at."""
    refs = [f"ref={quote(r, safe='')}" for r in BAD_REFS[:21]] + ["not=a..b", "after=abc", f"after={'A' * 40}"]
    for query in [*refs, "limit=0", "limit=501", "limit=-1", "limit=abc", "limit=1.5", "limit=%C2%B2"]:
        yield case(query, "GET", f"{R}/commits?{query}", status=422, code="invalid")
    for spec in ["main", "main..main", "...main", "main...", "a..b...main", "main...@{u}", "x...x?limit=0"]:
        yield case(spec, "GET", f"{R}/compare/{quote(spec, safe='?=')}", status=422, code="invalid")
    for path in ["commits?ref=main", "compare/origin/main...main"]:  # good input; no worker clones the repo here
        yield case("cloning", "GET", f"{R}/{path}", status=409, code="repo_not_ready")
