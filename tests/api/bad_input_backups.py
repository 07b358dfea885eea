"""Bad input for push's expect and dry_run and for the backups endpoints (bad_input_cases.py adds
these to its table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.api.bad_input_cases import NO_BODY, R, case

BACKUPS = f"{R}/backups"
BAD_SHAS = ["abc", "A" * 40, "g" * 40, "a" * 39, "a" * 41, "a" * 63, " " + "a" * 40, "a" * 40 + "\n", ""]


def backup_cases() -> Iterator[Any]:
    push = {"branch": "main"}
    for sha in BAD_SHAS:
        yield case(f"expect={sha[:12]!r}", "POST", f"{R}/push", {**push, "expect": sha}, 422, "invalid")
        yield case(f"expect={sha[:12]!r}", "POST", f"{BACKUPS}/1/restore", {"force": True, "expect": sha}, 422,
                   "invalid")
    for fld, value in [("expect", 5), ("expect", ["a" * 40]), ("dry_run", "yes"), ("dry_run", 1)]:
        yield case(f"{fld}={value!r}", "POST", f"{R}/push", {**push, fld: value}, code="bad_field")
    restore = f"{BACKUPS}/1/restore"
    yield case("force-without-expect", "POST", restore, {"force": True}, 422, "invalid")
    yield case("expect-without-force", "POST", restore, {"expect": "a" * 40}, 422, "invalid")
    yield case("force=yes", "POST", restore, {"force": "yes"}, code="bad_field")
    yield case("malformed", "POST", restore, b"{bad", code="bad_json")
    yield case("array", "POST", restore, [{}], code="bad_json")
    for backup in ["999999", "0", "-1", "x", "1" * 30, "%20", "1.0"]:
        yield case(f"unknown {backup}", "POST", f"{BACKUPS}/{backup}/restore", {}, 404, "backup_not_found")
        yield case(f"unknown {backup}", "DELETE", f"{BACKUPS}/{backup}", NO_BODY, 404, "backup_not_found")
    for method, path in [("GET", BACKUPS), ("POST", restore), ("DELETE", f"{BACKUPS}/1")]:
        yield case("repo=nope/nope", method, path.replace(R, "/api/v1/repos/nope/nope"), {} if method == "POST"
                   else NO_BODY, 404, "repo_not_found")
        yield case("token=none", method, path, status=401, code="unauthorized", token="none")
    for method, path in [("POST", restore), ("DELETE", f"{BACKUPS}/1")]:
        yield case("token=write", method, path, {}, 403, "forbidden", token="write")
