"""Bad input for every endpoint, as cases: what is sent, and the 4xx JSON error it must get."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.ssrf import fullwidth

REPO = "acme/widgets"
R = f"/api/v1/repos/{REPO}"
UPSTREAM = f"{R}/branches/main/upstream"
RULES = f"{R}/rules"
RULE = "nightly"  # made in the module's setup
GOOD_RULE = {"name": "other", "remote": "origin", "branch": "main"}
NO_BODY = object()
SMALL_LIMIT = 2048

BAD_REFS = ["a..b", "-x", "--upload-pack=evil", "refs/heads/x", "with space", "x.lock", "@{u}", "HEAD",
            "x/", "/x", ".x", "x.", "a//b", "a\\b", "x~1", "x^", "x:y", "x?", "x*", "x[", "x\n", "\ud800", "",
            "FETCH_HEAD", "ORIG_HEAD", "fix\u202egnp.exe", "a\u2066b", "nul\x00"]
# Too long for git to keep as files (a part over 255 bytes, the last over 250); full refs that are no start point.
TOO_LONG_REFS = ["x" * 251, "y" * 256 + "/z", "origin/" + "é" * 126, "a/" * 2000 + "b"]
BAD_START_POINTS = ["refs/tags/v1", "refs/heads/", "refs/remotes/origin", "refs/remotes/origin/", "refs/heads/a..b",
                    "refs/remotes/-x/main", "refs/remotes/origin/HEAD", "refs/gitferry/backups/x"]
BAD_NAMES = ["--upload-pack=evil", "-x", "a..b", "x.lock", "with space", "a/b", "origin\n", "", "x" * 101,
             "HEAD", "refs", "Refs", "FETCH_HEAD", "nul\x00"]
BAD_REPO_NAMES = ["--upload-pack=evil", "-x/y", "acme/-x", "a/../b", "a//b", "/a", "a/", "a.git", "a/b.lock",
                  "with space", "acme/w\n", "x" * 201, "", "acme/branches", "acme/remotes/x", "acme/rules"]
# Refused whatever GITFERRY_ALLOW_LOCAL_REMOTES says.
BAD_URLS = ["ext::sh -c touch% /tmp/pwned", "ext::sh", "fd::3", "https://user:pass@github.com/a/b",
            "https://token@github.com/a/b", "ssh://git:pw@github.com/a/b", "--upload-pack=evil",
            "-oProxyCommand=x", "ssh://-oProxyCommand=calc/x", "ftp://github.com/a/b", "https://github.com/",
            "https://github.com:99999/a", "https://github.com/a\nb", "https://github.com/\ud800", "", "nonsense",
            "https://[x/a/b", "https://[::1/a/b", "ssh://[x/a/b", "https://github.com/a\x00b",
            "ssh://%2DoProxyCommand=calc/x", "ssh://-oProxyCommand=x@github.com/a/b", "https://%31%32%37.0.0.1/x",
            f"https://{fullwidth('127.0.0.1')}/x", "https://%67ithub.com/a/b", "https://[::1/x"]
# Refused only when local remotes are off.
LOCAL_URLS = ["file:///", "file:///tmp/x", "http://github.com/a/b", "https://127.0.0.1/x", "https://10.0.0.1/x",
              "https://localhost/x", "https://foo.localhost/x", "https://[::1]/x", "https://[::1]:8443/x",
              "https://[::ffff:127.0.0.1]:8443/x", "https://2130706433/x", "https://127.1/x",
              "https://0x7f.0.0.1/x", "https://169.254.169.254/latest", "https://0.0.0.0/x",
              "ssh://git@192.168.1.1/x", "git@127.0.0.1:x", "https://100.64.0.1/x", "[::1]:x.git",
              "git@[::1]:x.git", "https://[fd00::1]/x", "https://224.0.0.1/x", "https://[::ffff:10.0.0.1]/x"]

# notify_url: refused whatever GITFERRY_ALLOW_LOCAL_REMOTES says ...
BAD_NOTIFY_URLS = ["", "nonsense", "hooks.example.com/x", "ftp://hooks.example.com/x", "file:///tmp/x",
                   "javascript:alert(1)", "ssh://hooks.example.com/x", "https://", "https:///x",
                   "https://user:pass@hooks.example.com/x", "https://token@hooks.example.com/x",
                   "https://:pw@hooks.example.com/x", "https://hooks.example.com/a b", "https://hooks.example.com/a\nb",
                   "https://hooks.example.com/\x7f", "https://hooks.example.com/\ud800", "https://[::1",
                   "https://hooks.example.com:99999/x", "https://hooks.example.com:abc/x",
                   "https://hooks.example.com/" + "x" * 2048, " https://hooks.example.com/x"]
# ... and only when local remotes are off.
LOCAL_NOTIFY_URLS = ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x",
                     "https://10.0.0.1/x", "https://[::1]/x", "https://[::1]:8443/x", "https://169.254.169.254/x",
                     "https://2130706433/x", "https://127.1/x", "https://0x7f.0.0.1/x", "https://0.0.0.0/x",
                     "https://foo.localhost/x", "https://printer.local/x", "http://127.0.0.1:8080/x",
                     "https://100.64.0.1/x", "https://%31%32%37.0.0.1/x", f"https://{fullwidth('127.0.0.1')}/x"]

ADMIN_ENDPOINTS = [("POST", "/api/v1/repos"), ("PATCH", R), ("DELETE", R), ("POST", f"{R}/remotes"),
                   ("DELETE", f"{R}/remotes/origin"), ("POST", "/api/v1/tokens"), ("GET", "/api/v1/tokens"),
                   ("DELETE", "/api/v1/tokens/reader"), ("POST", RULES), ("DELETE", f"{RULES}/{RULE}"),
                   ("GET", "/api/v1/forges"), ("POST", "/api/v1/forges"), ("DELETE", "/api/v1/forges/gitea.example"),
                   ("POST", "/api/v1/forges/gitea.example/test")]
WRITE_ENDPOINTS = [("POST", f"{R}/branches"), ("PUT", UPSTREAM), ("DELETE", UPSTREAM), ("POST", f"{R}/fetch"),
                   ("POST", f"{R}/pull"), ("POST", f"{R}/push")]
READ_ENDPOINTS = [("GET", "/api/v1/repos"), ("GET", R), ("GET", f"{R}/remotes"), ("GET", f"{R}/forks"),
                  ("GET", f"{R}/branches"), ("GET", f"{R}/tags"), ("GET", "/api/v1/jobs"), ("GET", "/api/v1/jobs/1"),
                  ("GET", RULES), ("GET", f"{R}/commits"), ("GET", f"{R}/compare/main...main")]
# Endpoints that read a JSON body, with a body each one accepts (so only the named defect is wrong).
BODY_ENDPOINTS = [
    ("POST", "/api/v1/repos", {"name": "acme/new", "url": "https://github.com/acme/new"}),
    ("PATCH", R, {"fetch_interval": 60}),
    ("POST", f"{R}/remotes", {"name": "mirror", "url": "https://gitlab.com/acme/widgets"}),
    ("POST", f"{R}/branches", {"name": "feature", "start_point": "origin/main"}),
    ("PUT", UPSTREAM, {"remote": "origin", "branch": "main"}),
    ("POST", f"{R}/fetch", {}),
    ("POST", f"{R}/pull", {"branch": "main"}),
    ("POST", f"{R}/push", {"branch": "main"}),
    ("POST", "/api/v1/tokens", {"name": "bot", "scope": "read"}),
    ("POST", RULES, GOOD_RULE),
    ("POST", "/api/v1/forges", {"kind": "gitea", "host": "gitea.example", "api_url": "https://gitea.example"}),
]
# Every endpoint under a repo name, with a body it would accept.
REPO_ENDPOINTS = [
    ("GET", "", None), ("PATCH", "", {}), ("DELETE", "", None), ("GET", "/remotes", None),
    ("POST", "/remotes", {"name": "mirror", "url": "https://gitlab.com/a/b"}), ("DELETE", "/remotes/origin", None),
    ("GET", "/forks", None), ("GET", "/branches", None), ("GET", "/tags", None),
    ("POST", "/branches", {"name": "f", "start_point": "origin/main"}),
    ("PUT", "/branches/main/upstream", {"remote": "origin", "branch": "main"}),
    ("DELETE", "/branches/main/upstream", None), ("POST", "/fetch", {}), ("POST", "/pull", {"branch": "main"}),
    ("POST", "/push", {"branch": "main"}),
    ("GET", "/rules", None), ("POST", "/rules", GOOD_RULE), ("DELETE", f"/rules/{RULE}", None),
    ("GET", "/commits", None), ("GET", "/compare/main...main", None),
]


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any = NO_BODY  # bytes are sent as they are, anything else as JSON
    status: int = 400
    code: str | None = None
    token: str = "admin"  # admin, write, read, none, unknown, basic, empty
    app: str = "local"  # local, strict (no local remotes), small (2 KiB bodies)
    headers: tuple[tuple[str, str], ...] = ()
    chunked: bool = False  # the body sent without a length, as gunicorn hands on a chunked one


def case(label: str, method: str, path: str, body: Any = NO_BODY, status: int = 400, code: str | None = None,
         **kw: Any) -> Any:
    if "%00" in path.lower() or "\x00" in path:  # a URL naming nothing gitferry can have, whoever asks
        status, code = 400, "bad_request"
    elif kw.get("token", "admin") == "admin" and not storable(body):  # refused as a body, before its fields
        status, code = 400, "bad_json"
    return pytest.param(Case(method, path, body, status, code, **kw), id=f"{method} {path} {label}")


def storable(value: Any) -> bool:
    """Whether a database could hold every string of a JSON value: no NUL, no lone surrogate."""
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(storable, value))
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    return True


def _quote(ref: str) -> str:
    return quote(ref, safe="/")


def body_cases() -> Iterator[Any]:
    for method, path, good in BODY_ENDPOINTS:
        yield case("malformed", method, path, b"{bad", code="bad_json")
        yield case("truncated", method, path, b'{"name": "x"', code="bad_json")
        yield case("not-utf8", method, path, b'{"name": "\xff\xfe"}', code="bad_json")
        yield case("deeply-nested", method, path, b"[" * 1500, code="bad_json")
        yield case("nested-in-object", method, path, b'{"name": ' + b"[" * 1500, code="bad_json")
        yield case("huge-number", method, path, b'{"name": ' + b"1" * 5000 + b"}", code="bad_json")
        yield case("form-encoded", method, path, b"name=x&url=y", code="bad_json",
                   headers=(("Content-Type", "application/x-www-form-urlencoded"),))
        for label, body in [("array", [good]), ("string", "name"), ("number", 42), ("null", None), ("true", True)]:
            yield case(label, method, path, body, code="bad_json")
        yield case("oversized", method, path, {**good, "pad": "x" * SMALL_LIMIT}, 413, "too_large", app="small")
        yield case("oversized-chunked", method, path, {**good, "pad": "x" * SMALL_LIMIT}, 413, "too_large",
                   app="small", chunked=True)


URL = "https://github.com/acme/new"
NEW = {"name": "acme/new", "url": URL}


def field_cases() -> Iterator[Any]:
    """Bad fields, endpoint by endpoint."""
    for cases in (repo_create_cases, repo_patch_cases, notify_cases, remote_cases, branch_cases, upstream_cases,
                  op_cases, rule_cases, token_cases):
        yield from cases()


def repo_create_cases() -> Iterator[Any]:
    p = "/api/v1/repos"
    # POST /api/v1/repos
    yield case("{}", "POST", p, {}, code="missing_field")
    yield case("no-url", "POST", p, {"name": "acme/new"}, code="missing_field")
    yield case("no-name", "POST", p, {"url": URL}, code="missing_field")
    for fld, value in [("name", 5), ("name", None), ("name", ["a"]), ("url", 5), ("url", None), ("url", {"a": 1}),
                       ("pull_strategy", 1), ("pull_strategy", True), ("fetch_interval", True),
                       ("fetch_interval", "60"), ("fetch_interval", 1.5), ("fetch_interval", 1e400),
                       ("protected_branches", "main"), ("protected_branches", {"a": 1})]:
        yield case(f"{fld}={value!r}", "POST", p, {**NEW, fld: value}, code="bad_field")
    for fld, value in [("pull_strategy", "yolo"), ("pull_strategy", ""), ("fetch_interval", -1),
                       ("fetch_interval", 10**9), ("fetch_interval", 10**100), ("protected_branches", [""]),
                       ("protected_branches", [1]), ("protected_branches", ["x"] * 101)]:
        yield case(f"{fld}={str(value)[:20]!r}", "POST", p, {**NEW, fld: value}, 422, "invalid")
    for name in BAD_REPO_NAMES:
        yield case(f"name={name[:30]!r}", "POST", p, {**NEW, "name": name}, 422, "invalid")
    yield case("name-taken", "POST", p, {**NEW, "name": REPO}, 409, "repo_exists")
    for bad in BAD_URLS:
        yield case(f"url={bad!r}", "POST", p, {**NEW, "url": bad}, 422, "invalid")
        yield case(f"url={bad!r}", "POST", f"{R}/remotes", {"name": "mirror", "url": bad}, 422, "invalid")
    for bad in LOCAL_URLS:
        yield case(f"strict url={bad!r}", "POST", p, {**NEW, "url": bad}, 422, "invalid", app="strict")
        yield case(f"strict url={bad!r}", "POST", f"{R}/remotes", {"name": "mirror", "url": bad}, 422, "invalid",
                   app="strict")


def repo_patch_cases() -> Iterator[Any]:
    # PATCH /api/v1/repos/{name}
    for fld, value in [("name", "b"), ("url", URL), ("state", "ready"), ("fetch_interval", True),
                       ("fetch_interval", "60"), ("pull_strategy", 3), ("protected_branches", "main"),
                       ("protected_branches", None)]:
        yield case(f"{fld}={value!r}", "PATCH", R, {fld: value}, code="bad_field")
    for fld, value in [("fetch_interval", -5), ("pull_strategy", "yolo"), ("protected_branches", [""])]:
        yield case(f"{fld}={value!r}", "PATCH", R, {fld: value}, 422, "invalid")
    yield case("good-then-bad", "PATCH", R, {"pull_strategy": "rebase", "fetch_interval": "x"}, code="bad_field")


def notify_cases() -> Iterator[Any]:
    # PATCH notify_url / notify_secret
    for value in [5, True, ["https://hooks.example.com/x"], {"url": "https://hooks.example.com/x"}]:
        yield case(f"notify_url={value!r}", "PATCH", R, {"notify_url": value}, code="bad_field")
    for value in [5, True, ["s"], {"s": 1}]:
        yield case(f"notify_secret={value!r}", "PATCH", R, {"notify_secret": value}, code="bad_field")
    yield case("good-then-bad-secret", "PATCH", R, {"notify_url": "https://hooks.example.com/x", "notify_secret": 1},
               code="bad_field")
    yield case("bad-URL-then-secret", "PATCH", R, {"notify_url": "ftp://hooks.example.com/x", "notify_secret": "s"},
               422, "invalid")
    for bad in BAD_NOTIFY_URLS:
        yield case(f"notify_url={bad!r}", "PATCH", R, {"notify_url": bad}, 422, "invalid")
        yield case(f"strict notify_url={bad!r}", "PATCH", R, {"notify_url": bad}, 422, "invalid", app="strict")
    for bad in LOCAL_NOTIFY_URLS:
        yield case(f"strict notify_url={bad!r}", "PATCH", R, {"notify_url": bad}, 422, "invalid", app="strict")


def remote_cases() -> Iterator[Any]:
    # POST /api/v1/repos/{name}/remotes
    yield case("{}", "POST", f"{R}/remotes", {}, code="missing_field")
    yield case("no-name", "POST", f"{R}/remotes", {"url": URL}, code="missing_field")
    yield case("no-url", "POST", f"{R}/remotes", {"name": "mirror"}, code="missing_field")
    yield case("name=5", "POST", f"{R}/remotes", {"name": 5, "url": URL}, code="bad_field")
    yield case("url=5", "POST", f"{R}/remotes", {"name": "mirror", "url": 5}, code="bad_field")
    for name in BAD_NAMES:
        yield case(f"name={name[:30]!r}", "POST", f"{R}/remotes", {"name": name, "url": URL}, 422, "invalid")
    yield case("name-taken", "POST", f"{R}/remotes", {"name": "origin", "url": URL}, 409, "remote_exists")
    yield case("fork-without-forge", "POST", f"{R}/remotes", {"name": "fork", "fork": "bob/widgets"}, 422,
               "no_forge_integration")


def branch_cases() -> Iterator[Any]:
    # POST /api/v1/repos/{name}/branches
    b = f"{R}/branches"
    yield case("{}", "POST", b, {}, code="missing_field")
    yield case("no-start", "POST", b, {"name": "f"}, code="missing_field")
    yield case("name=5", "POST", b, {"name": 5, "start_point": "origin/main"}, code="bad_field")
    yield case("start=5", "POST", b, {"name": "f", "start_point": 5}, code="bad_field")
    yield case("track=yes", "POST", b, {"name": "f", "start_point": "origin/main", "track": "yes"}, code="bad_field")
    yield case("track=1", "POST", b, {"name": "f", "start_point": "origin/main", "track": 1}, code="bad_field")
    for ref in [*BAD_REFS, *TOO_LONG_REFS]:
        yield case(f"name={ref[:30]!r}", "POST", b, {"name": ref, "start_point": "origin/main"}, 422, "invalid")
    for ref in [*BAD_START_POINTS, *TOO_LONG_REFS, *(r for r in BAD_REFS if r != "refs/heads/x")]:
        yield case(f"start={ref[:30]!r}", "POST", b, {"name": "f", "start_point": ref}, 422, "invalid")
    yield case("start='abcd\\n'", "POST", b, {"name": "f", "start_point": "abcd\n"}, 422, "invalid")
    # a local origin/main would hide remote origin's main from git
    yield case("name=origin/main", "POST", b, {"name": "origin/main", "start_point": "main"}, 422, "invalid")


def upstream_cases() -> Iterator[Any]:
    # PUT / DELETE /api/v1/repos/{name}/branches/{branch}/upstream
    good = {"remote": "origin", "branch": "main"}
    yield case("{}", "PUT", UPSTREAM, {}, code="missing_field")
    yield case("no-branch", "PUT", UPSTREAM, {"remote": "origin"}, code="missing_field")
    yield case("remote=5", "PUT", UPSTREAM, {**good, "remote": 5}, code="bad_field")
    yield case("branch=5", "PUT", UPSTREAM, {**good, "branch": 5}, code="bad_field")
    yield case("remote=nope", "PUT", UPSTREAM, {**good, "remote": "nope"}, 404, "remote_not_found")
    for name in BAD_NAMES:
        yield case(f"remote={name[:30]!r}", "PUT", UPSTREAM, {**good, "remote": name}, 422, "invalid")
    for ref in BAD_REFS:
        yield case(f"branch={ref!r}", "PUT", UPSTREAM, {**good, "branch": ref}, 422, "invalid")
        # In a URL: some miss the route (a JSON 404); a lone surrogate cannot be sent as UTF-8 at all.
        if ref not in ("", "/x", "x/", "a//b", "x\n", "\ud800"):
            path = f"{R}/branches/{_quote(ref)}/upstream"
            yield case(f"url-branch={ref!r}", "PUT", path, good, 422, "invalid")
            yield case(f"url-branch={ref!r}", "DELETE", path, NO_BODY, 422, "invalid")


def op_cases() -> Iterator[Any]:
    # POST fetch, pull, push
    yield case("remote=5", "POST", f"{R}/fetch", {"remote": 5}, code="bad_field")
    yield case("remote=nope", "POST", f"{R}/fetch", {"remote": "nope"}, 404, "remote_not_found")
    yield case("prune=yes", "POST", f"{R}/fetch", {"prune": "yes"}, code="bad_field")
    yield case("prune=1", "POST", f"{R}/fetch", {"prune": 1}, code="bad_field")
    for name in BAD_NAMES:
        yield case(f"remote={name[:30]!r}", "POST", f"{R}/fetch", {"remote": name}, 422, "invalid")
        yield case(f"remote={name[:30]!r}", "POST", f"{R}/push", {"branch": "main", "remote": name}, 422, "invalid")
    for op in ("pull", "push"):
        yield case("{}", "POST", f"{R}/{op}", {}, code="missing_field")
        yield case("branch=5", "POST", f"{R}/{op}", {"branch": 5}, code="bad_field")
        yield case("branch=null", "POST", f"{R}/{op}", {"branch": None}, code="bad_field")
        for ref in BAD_REFS:
            yield case(f"branch={ref!r}", "POST", f"{R}/{op}", {"branch": ref}, 422, "invalid")
    yield case("strategy=5", "POST", f"{R}/pull", {"branch": "main", "strategy": 5}, code="bad_field")
    yield case("strategy=yolo", "POST", f"{R}/pull", {"branch": "main", "strategy": "yolo"}, 422, "invalid")
    push = {"branch": "main"}
    for fld, value in [("remote", 5), ("remote_branch", 5), ("set_upstream", "no"), ("force", "true"),
                       ("force", 1)]:
        yield case(f"{fld}={value!r}", "POST", f"{R}/push", {**push, fld: value}, code="bad_field")
    yield case("remote=nope", "POST", f"{R}/push", {**push, "remote": "nope"}, 404, "remote_not_found")
    for ref in BAD_REFS:
        yield case(f"remote_branch={ref!r}", "POST", f"{R}/push", {**push, "remote_branch": ref}, 422, "invalid")


def rule_cases() -> Iterator[Any]:
    # POST /api/v1/repos/{name}/rules
    rule = GOOD_RULE
    yield case("local_branch=origin/x", "POST", RULES, {**rule, "local_branch": "origin/x"}, 422, "invalid")
    yield case("{}", "POST", RULES, {}, code="missing_field")
    for fld in ("name", "remote", "branch"):
        yield case(f"no-{fld}", "POST", RULES, {k: v for k, v in rule.items() if k != fld}, code="missing_field")
    for fld, value in [("name", 5), ("name", None), ("name", ["x"]), ("remote", 5), ("remote", None),
                       ("remote", {"a": 1}), ("branch", 5), ("branch", None), ("branch", ["main"]),
                       ("local_branch", 5), ("local_branch", True), ("strategy", 5), ("strategy", True),
                       ("push_to", 5), ("push_to", ["origin"]), ("allow_force", "yes"), ("allow_force", 1),
                       ("allow_force", "true")]:
        yield case(f"{fld}={value!r}", "POST", RULES, {**rule, fld: value}, code="bad_field")
    for name in BAD_NAMES:
        yield case(f"name={name[:30]!r}", "POST", RULES, {**rule, "name": name}, 422, "invalid")
        yield case(f"remote={name[:30]!r}", "POST", RULES, {**rule, "remote": name}, 422, "invalid")
        yield case(f"push_to={name[:30]!r}", "POST", RULES, {**rule, "push_to": name}, 422, "invalid")
    for ref in BAD_REFS:
        yield case(f"branch={ref!r}", "POST", RULES, {**rule, "branch": ref}, 422, "invalid")
        yield case(f"local_branch={ref!r}", "POST", RULES, {**rule, "local_branch": ref}, 422, "invalid")
    for value in ["yolo", "", "FF-ONLY", "merge"]:
        yield case(f"strategy={value!r}", "POST", RULES, {**rule, "strategy": value}, 422, "invalid")
    for remote in ["nope", "ORIGIN", "mirror"]:
        yield case(f"remote={remote}", "POST", RULES, {**rule, "remote": remote}, 404, "remote_not_found")
        yield case(f"push_to={remote}", "POST", RULES, {**rule, "push_to": remote}, 404, "remote_not_found")
    yield case("name-taken", "POST", RULES, {**rule, "name": RULE}, 409, "rule_exists")
    yield case("name-taken-other-fields", "POST", RULES,
               {"name": RULE, "remote": "origin", "branch": "dev", "strategy": "rebase", "push_to": "origin",
                "allow_force": True}, 409, "rule_exists")


def token_cases() -> Iterator[Any]:
    # POST /api/v1/tokens
    t = "/api/v1/tokens"
    yield case("{}", "POST", t, {}, code="missing_field")
    yield case("no-scope", "POST", t, {"name": "bot"}, code="missing_field")
    yield case("name=5", "POST", t, {"name": 5, "scope": "read"}, code="bad_field")
    yield case("scope=1", "POST", t, {"name": "bot", "scope": 1}, code="bad_field")
    yield case("scope=root", "POST", t, {"name": "bot", "scope": "root"}, 422, "invalid")
    yield case("scope=READ", "POST", t, {"name": "bot", "scope": "READ"}, 422, "invalid")
    for name in BAD_NAMES:
        yield case(f"name={name[:30]!r}", "POST", t, {"name": name, "scope": "read"}, 422, "invalid")
    yield case("name-taken", "POST", t, {"name": "reader", "scope": "read"}, 409, "token_exists")


def query_cases() -> Iterator[Any]:
    for op, body in [("fetch", {}), ("pull", {"branch": "main"}), ("push", {"branch": "main"})]:
        for wait in ["61", "-1", "abc", "nan", "inf", "1e9", "", "%C2%B2"]:
            yield case(f"wait={wait}", "POST", f"{R}/{op}?wait={wait}", body, code="bad_query")
    # Every other call that queues a job honours ?wait, and refuses a bad one before it changes anything.
    queued = [("POST", f"{R}/branches", {"name": "f", "start_point": "main"}), ("DELETE", UPSTREAM, NO_BODY),
              ("PUT", UPSTREAM, {"remote": "origin", "branch": "main"}), ("DELETE", f"{R}/remotes/origin", NO_BODY),
              ("POST", f"{R}/remotes", {"name": "m", "url": URL}), ("POST", "/api/v1/repos", {"name": "n", "url": URL})]
    for method, path, body in queued:
        for wait in ["61", "abc", "nan"]:
            yield case(f"wait={wait}", method, f"{path}?wait={wait}", body, code="bad_query")
    for job_id in ["abc", "-1", "0", "999", "1.5", "99999999999999999999", "%C2%B2", "%D9%A3", "1%0A", "0x1"]:
        yield case(f"id={job_id}", "GET", f"/api/v1/jobs/{job_id}", status=404, code="job_not_found")
    for query in ["limit=0", "limit=501", "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit=%C2%B2",
                  "limit=%D9%A3", "state=bogus", "state=", "kind=bogus", "kind=CLONE"]:
        yield case(query, "GET", f"/api/v1/jobs?{query}", code="bad_query")
    # A NUL character names nothing gitferry has, anywhere in a URL.
    for path in ["/api/v1/jobs?repo=a%00b", "/api/v1/jobs?state=done%00", f"{R}/branches?x%00=1",
                 "/api/v1/repos/a%00b", "/api/v1/repos/acme/widgets%00", f"{R}/remotes/or%00igin",
                 "/api/v1/tokens/a%00b", f"{RULES}/nightly%00", "/api/v1/forges/a%00b", "/api/v1/jobs/1%00"]:
        for method in ["GET", "DELETE"]:
            yield case(f"NUL {method}", method, path, code="bad_request")


# Unknown names and wrong tokens, push's expect and dry_run and backups, reads, changing a rule: modules
# of their own, built with `case` above.
from tests.api.bad_input_access import auth_cases, lookup_cases  # noqa: E402
from tests.api.bad_input_backups import backup_cases  # noqa: E402
from tests.api.bad_input_reads import read_query_cases  # noqa: E402
from tests.api.bad_input_rules import rule_patch_cases  # noqa: E402

ALL_CASES = [*body_cases(), *field_cases(), *query_cases(), *read_query_cases(), *lookup_cases(), *auth_cases(),
             *backup_cases(), *rule_patch_cases()]
