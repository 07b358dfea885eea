"""Bad input that names nothing there is (unknown repos, remotes, rules, tokens, forges) or comes
with the wrong token (bad_input_cases.py adds these to its table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.api.bad_input_cases import (
    ADMIN_ENDPOINTS,
    NO_BODY,
    READ_ENDPOINTS,
    REPO_ENDPOINTS,
    RULES,
    WRITE_ENDPOINTS,
    R,
    case,
)


def lookup_cases() -> Iterator[Any]:
    for name in ["nope/nope", "nope", "--upload-pack=evil", "-x", "acme", "acme/widgets.git", "ACME/WIDGETS"]:
        for method, suffix, body in REPO_ENDPOINTS:
            path = f"/api/v1/repos/{name}{suffix}"
            yield case(f"repo={name}", method, path, NO_BODY if body is None else body, 404, "repo_not_found")
    for remote in ["nope", "--upload-pack=evil", "-x", "ORIGIN"]:
        yield case("unknown", "DELETE", f"{R}/remotes/{remote}", status=404, code="remote_not_found")
    yield case("origin", "DELETE", f"{R}/remotes/origin", status=409, code="origin_required")
    yield case("unknown", "DELETE", "/api/v1/tokens/nope", status=404, code="token_not_found")
    for rule in ["nope", "NIGHTLY", "nightly.", "--upload-pack=evil", "-x", "a..b", "%20", "x" * 300]:
        yield case(f"unknown {rule[:30]}", "DELETE", f"{RULES}/{rule}", status=404, code="rule_not_found")
    yield case("no-forge", "GET", f"{R}/forks", status=422, code="no_forge_integration")
    yield case("unknown", "DELETE", "/api/v1/forges/nope.example", status=404, code="forge_not_found")
    yield case("unknown", "POST", "/api/v1/forges/nope.example/test", status=404, code="forge_not_found")


def auth_cases() -> Iterator[Any]:
    every = ADMIN_ENDPOINTS + WRITE_ENDPOINTS + READ_ENDPOINTS
    for method, path in every:
        for token in ["none", "unknown", "basic", "empty"]:
            yield case(f"token={token}", method, path, status=401, code="unauthorized", token=token)
    for method, path in ADMIN_ENDPOINTS + WRITE_ENDPOINTS:
        yield case("token=read", method, path, {}, 403, "forbidden", token="read")
    for method, path in ADMIN_ENDPOINTS:
        yield case("token=write", method, path, {}, 403, "forbidden", token="write")
    yield case("force with write", "POST", f"{R}/push", {"branch": "main", "force": True}, 403, "forbidden",
               token="write")
