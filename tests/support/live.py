"""Run gitferry processes (serve, or web + worker + beat) for tests, and talk to their API."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ADMIN = "test-admin-token-0123456789"
HOOK_SECRET = "test-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Api:
    """A small client of the HTTP API with the admin token by default."""

    def __init__(self, base: str, token: str = ADMIN):
        self.base = base
        self.token = token
        self.http = requests.Session()

    def call(
        self, method: str, path: str, json: Any = None, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.http.request(method, self.base + path, json=json, headers=headers, timeout=90, **kwargs)

    def ok(
        self,
        method: str,
        path: str,
        json: Any = None,
        status: int | tuple[int, ...] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> Any:
        response = self.call(method, path, json, **kwargs)
        wanted = (status,) if isinstance(status, int) else status
        assert response.status_code in wanted, (response.status_code, response.text)
        return response.json() if response.content else None

    def run(self, path: str, json: Any = None, wait: int = 30) -> dict[str, Any]:
        """POST an operation with ?wait and return the finished job."""
        job = self.ok("POST", f"{path}?wait={wait}", json, status=200)["job"]
        return job  # type: ignore[no-any-return]

    def wait_repo(self, name: str, state: str = "ready", timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            repo = self.ok("GET", f"/api/v1/repos/{name}")
            if repo["state"] == state or time.monotonic() > deadline:
                assert repo["state"] == state, repo
                return repo  # type: ignore[no-any-return]
            time.sleep(0.05)

    def wait_job(self, job_id: int, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.ok("GET", f"/api/v1/jobs/{job_id}")
            if job["state"] in ("done", "failed") or time.monotonic() > deadline:
                return job  # type: ignore[no-any-return]
            time.sleep(0.05)


def command_is_installed(command: list[str]) -> bool:
    """Whether `command` is an installed gitferry (run away from the checkout, so as not to import it)."""
    return command[0].endswith("/gitferry")


class Processes:
    """gitferry commands started with one environment; stopped (and their logs kept) on exit.
    `command` runs gitferry (by default this checkout's source, run from the folder it is in)."""

    def __init__(self, data_dir: Path, env: dict[str, str], command: list[str] | None = None):
        self.command = command or [sys.executable, "-m", "service.cli"]
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "GITFERRY_DATA_DIR": str(data_dir),
            "GITFERRY_ADMIN_TOKEN": ADMIN,
            "GITFERRY_ALLOW_LOCAL_REMOTES": "1",
            **env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.port = free_port()
        self.api = Api(f"http://127.0.0.1:{self.port}")

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [*self.command, *args],
            env={**self.env, **(env or {})},
            cwd=self.data_dir if command_is_installed(self.command) else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def serve(self) -> Processes:
        self.start("serve", "serve", "--port", str(self.port))
        return self.wait_healthy()

    def web(self) -> Processes:
        self.start("web", "web", "--port", str(self.port))
        return self.wait_healthy()

    def wait_healthy(self, timeout: float = 30) -> Processes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.api.base + "/healthz", timeout=2).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
                pass
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log(name)}")
            time.sleep(0.1)
        raise RuntimeError("gitferry did not become healthy:\n" + "\n".join(map(self.log, self.procs)))

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)
