"""Bad input for changing a sync rule, PATCH /api/v1/repos/{name}/rules/{rule} (bad_input_cases.py
adds these to its table): every refusal of a new rule's fields, unknown fields, rules and repos,
names taken, and the wrong tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.api.bad_input_cases import BAD_NAMES, BAD_REFS, RULE, RULES, SMALL_LIMIT, case

RULE_PATH = f"{RULES}/{RULE}"
GOOD = {"strategy": "rebase"}


def rule_patch_cases() -> Iterator[Any]:
    p = RULE_PATH
    for label, body in [("malformed", b"{bad"), ("not-utf8", b'{"name": "\xff\xfe"}'), ("deeply-nested", b"[" * 1500),
                        ("array", [GOOD]), ("string", "name"), ("null", None)]:
        yield case(label, "PATCH", p, body, code="bad_json")
    yield case("oversized", "PATCH", p, {**GOOD, "pad": "x" * SMALL_LIMIT}, 413, "too_large", app="small")
    for fld in ("id", "created_at", "repo", "pad"):
        yield case(f"unknown {fld}", "PATCH", p, {**GOOD, fld: "x"}, code="bad_field")
    for fld, value in [("name", 5), ("name", None), ("name", ["x"]), ("remote", 5), ("remote", None),
                       ("branch", 5), ("branch", None), ("branch", ["main"]), ("local_branch", 5),
                       ("local_branch", True), ("strategy", 5), ("strategy", True), ("push_to", 5),
                       ("push_to", ["origin"]), ("allow_force", "yes"), ("allow_force", 1)]:
        yield case(f"{fld}={value!r}", "PATCH", p, {fld: value}, code="bad_field")
    for name in BAD_NAMES:
        yield case(f"name={name[:30]!r}", "PATCH", p, {"name": name}, 422, "invalid")
        yield case(f"remote={name[:30]!r}", "PATCH", p, {"remote": name}, 422, "invalid")
        yield case(f"push_to={name[:30]!r}", "PATCH", p, {"push_to": name}, 422, "invalid")
    for ref in BAD_REFS:
        yield case(f"branch={ref!r}", "PATCH", p, {"branch": ref}, 422, "invalid")
        yield case(f"local_branch={ref!r}", "PATCH", p, {"local_branch": ref}, 422, "invalid")
    yield case("local_branch=origin/x", "PATCH", p, {"local_branch": "origin/x"}, 422, "invalid")
    for value in ["yolo", "", "FF-ONLY", "merge"]:
        yield case(f"strategy={value!r}", "PATCH", p, {"strategy": value}, 422, "invalid")
    for remote in ["nope", "ORIGIN", "mirror"]:
        yield case(f"remote={remote}", "PATCH", p, {"remote": remote}, 404, "remote_not_found")
        yield case(f"push_to={remote}", "PATCH", p, {"push_to": remote}, 404, "remote_not_found")
    for rule in ["nope", "NIGHTLY", "nightly.", "--upload-pack=evil", "-x", "a..b", "%20", "x" * 300]:
        yield case(f"unknown {rule[:30]}", "PATCH", f"{RULES}/{rule}", GOOD, 404, "rule_not_found")
    for repo in ["nope/nope", "--upload-pack=evil", "ACME/WIDGETS"]:
        yield case(f"repo={repo}", "PATCH", f"/api/v1/repos/{repo}/rules/{RULE}", GOOD, 404, "repo_not_found")
    for token in ["none", "unknown", "basic", "empty"]:
        yield case(f"token={token}", "PATCH", p, GOOD, 401, "unauthorized", token=token)
    for token in ["read", "write"]:
        yield case(f"token={token}", "PATCH", p, GOOD, 403, "forbidden", token=token)
