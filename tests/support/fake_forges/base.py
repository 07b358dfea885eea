"""One fake forge host: a JSON API and git over smart HTTP on the same 127.0.0.1 port, both behind the token.

The git side is tests.support.git_http's `git http-backend` server; this adds the API in front of it.
Subclasses describe one forge: its API auth, its paths and its JSON. Faults are queued with `fail()`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.git_http import GitHttpServer, _Handler
from tests.support.repos import git

Answer = tuple[int, dict[str, str], Any]


@dataclass
class FakeRepo:
    """A repository on the fake forge: its names and the bare repo its git URL serves."""

    full_name: str  # owner/name, group/sub/name, KEY/slug, project/name
    owner: str
    name: str
    git_path: str  # path under the server root, e.g. "acme/widgets.git"
    id: int = 0
    forks: list[FakeRepo] = field(default_factory=list)


@dataclass
class ApiRequest:
    method: str
    path: str
    status: int
    if_none_match: str | None


class FakeForge(GitHttpServer):
    """Base of the fakes; `api(path, query, headers)` answers the forge's JSON."""

    kind = ""
    git_username = ""
    etags = True  # whether this forge sends ETag and answers If-None-Match with 304
    page_size = 2  # small, so that a handful of forks spans several pages

    def __init__(self, root: Path, token: str, git_username: str | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root, username=git_username or self.git_username, password=token)
        self.token = token
        self.repos: dict[str, FakeRepo] = {}
        self.api_requests: list[ApiRequest] = []
        self._faults: list[Answer] = []
        self._lock = threading.Lock()
        self._ids = iter(range(1000, 10**6))

    # set-up

    @property
    def base(self) -> str:
        return f"http://{self.netloc}"

    def add_repo(self, full_name: str, source: Path, *, owner: str | None = None) -> FakeRepo:
        """Serve a bare copy of `source` as `full_name`."""
        repo = self.make_repo(full_name, owner)
        repo.id = next(self._ids)
        target = self.root / repo.git_path
        target.parent.mkdir(parents=True, exist_ok=True)
        git(target.parent, "clone", "--quiet", "--bare", str(source), str(target))
        self.repos[full_name] = repo
        return repo

    def add_fork(self, parent: str, full_name: str, *, owner: str | None = None) -> FakeRepo:
        fork = self.add_repo(full_name, self.root / self.repos[parent].git_path, owner=owner)
        self.repos[parent].forks.append(fork)
        return fork

    def make_repo(self, full_name: str, owner: str | None) -> FakeRepo:
        owner_name, _, name = full_name.rpartition("/")
        return FakeRepo(full_name, owner or owner_name, name, f"{full_name}.git")

    def fail(self, status: int, headers: dict[str, str] | None = None, body: Any = None, times: int = 1) -> None:
        """The next `times` API requests get this answer."""
        with self._lock:
            self._faults += [(status, headers or {}, body)] * times

    def url_of(self, repo: FakeRepo) -> str:
        return f"{self.base}/{repo.git_path}"

    # to override

    def authorized(self, headers: Any) -> bool:
        raise NotImplementedError

    def refused(self) -> Answer:
        return 401, {}, {"message": "Bad credentials"}

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        """The answer to an API GET, or None for a path this fake does not know (404)."""
        raise NotImplementedError

    def is_api(self, path: str) -> bool:
        raise NotImplementedError

    # helpers for subclasses

    def page(self, items: list[Any], page: int, size: int) -> tuple[list[Any], bool]:
        """Items of 1-based `page`, and whether more follow."""
        size = max(1, min(size, self.page_size))
        start = (page - 1) * size
        return items[start:start + size], start + size < len(items)

    def start(self) -> FakeForge:
        handler = type("Handler", (_ForgeHandler,), {"git_server": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> FakeForge:
        return self.start()


class _ForgeHandler(_Handler):
    git_server: FakeForge

    def do_GET(self) -> None:
        if self.git_server.is_api(urlsplit(self.path).path):
            self._api()
        else:
            self._serve()

    def _api(self) -> None:
        forge = self.git_server
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with forge._lock:
            fault = forge._faults.pop(0) if forge._faults else None
        if fault is not None:
            answer = fault
        elif not forge.authorized(self.headers):
            answer = forge.refused()
        else:
            answer = forge.api(parts.path, query, self.headers) or (404, {}, {"message": "Not Found"})
        status, headers, body = answer
        payload = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        if status == 200 and forge.etags:
            etag = 'W/"' + hashlib.sha1(payload).hexdigest() + '"'
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status, payload = 304, b""
        forge.api_requests.append(ApiRequest("GET", self.path, status, self.headers.get("If-None-Match")))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
