"""A small smart-HTTP git server for tests: `git http-backend` behind ThreadingHTTPServer.

    with GitHttpServer(tmp_path / "srv", username="u", password="p") as server:
        url = server.url("forge.git")   # http://127.0.0.1:PORT/forge.git

Repositories under `root` are served read/write (push works). With username/password, every
request needs HTTP basic auth and gets 401 + `WWW-Authenticate: Basic realm="git"` otherwise.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

__all__ = ["GitHttpServer"]


class GitHttpServer:
    """Serves every repository under `root` over smart HTTP on 127.0.0.1:<free port>."""

    def __init__(self, root: Path, username: str | None = None, password: str | None = None) -> None:
        self.root = Path(root)
        self.username = username
        self.password = password
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) for asserts
        self.body_encodings: set[str] = set()  # "gzip", "chunked" as seen in request bodies
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def netloc(self) -> str:
        """host:port, the key for GitConfig.credentials."""
        assert self._server is not None, "server not started"
        return f"127.0.0.1:{self._server.server_port}"

    def url(self, repo_relpath: str) -> str:
        return f"http://{self.netloc}/{repo_relpath.lstrip('/')}"

    def start(self) -> GitHttpServer:
        handler = type("Handler", (_Handler,), {"git_server": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    git_server: GitHttpServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _authorized(self) -> str | None:
        """The authenticated user, "" when no auth is required, None when refused."""
        server = self.git_server
        if server.username is None:
            return ""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            if user == server.username and password == server.password:
                return user
        return None

    def _body(self) -> bytes:
        if self.headers.get("Content-Encoding"):
            self.git_server.body_encodings.add(self.headers["Content-Encoding"].lower())
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.git_server.body_encodings.add("chunked")
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        server = self.git_server
        body = self._body() if self.command == "POST" else b""
        user = self._authorized()
        if user is None:
            server.requests.append((self.command, self.path, 401))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        parts = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
            "GIT_PROJECT_ROOT": str(server.root.resolve()),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(parts.path),
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
        }
        if user:
            env["REMOTE_USER"] = user
        if self.headers.get("Content-Encoding"):
            # http-backend inflates gzip bodies itself.
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _ and b"\n\n" in proc.stdout:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        server.requests.append((self.command, self.path, status))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
