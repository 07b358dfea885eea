"""Liveness for load balancers and Prometheus metrics."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from service.web.context import Services, services

bp = Blueprint("health", __name__)
# Seconds /healthz waits for its checks: a load balancer's check commonly gives up at 2 s.
DEADLINE = 1.5


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    checks: Health = current_app.extensions["gitferry.health"]
    problems, free = checks.run()
    body: dict[str, Any] = {"status": "unavailable" if problems else "ok", "disk_free_bytes": free}
    if problems:
        body["problems"] = problems
    return jsonify(body), 503 if problems else 200


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    state.app.extensions["gitferry.health"] = Health(state.app.extensions["gitferry"])


class Health:
    """The database, the broker and the data dir's disk, each checked on a thread of its own so
    that /healthz answers within DEADLINE whatever they do."""

    def __init__(self, svc: Services):
        self.min_free = svc.settings.min_free_bytes
        data_dir = svc.settings.data_dir
        self.database = Probe("database", lambda: svc.store.ping())
        self.broker = Probe("broker", lambda: svc.jobs.ping())
        self.disk = Probe("disk", lambda: shutil.disk_usage(_existing(data_dir)).free)

    def run(self) -> tuple[dict[str, str], int | None]:
        """What is wrong, by part, and the free bytes of the data dir (None if not known in time)."""
        deadline = time.monotonic() + DEADLINE
        runs = {probe.name: probe.start() for probe in (self.database, self.broker, self.disk)}
        problems = {}
        for name, run in runs.items():
            if not run.done.wait(max(0.0, deadline - time.monotonic())):
                problems[name] = f"{name} did not answer within {DEADLINE:g} s"
            elif run.error is not None:
                problems[name] = f"{name} unreachable ({run.error})"
        if isinstance(broker := runs["broker"].value, str):  # JobQueue.ping says what is wrong
            problems["broker"] = broker
        free = runs["disk"].value if "disk" not in problems else None
        if free is not None and free < self.min_free:
            problems["disk"] = f"{free} bytes free in the data dir, under the {self.min_free} needed"
        return problems, free


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (the data dir is made when first written)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class Probe:
    """A check run on a thread of its own, so that the caller can stop waiting for it. Whoever
    asks while a check runs waits on that one: a database that never answers holds one thread,
    not one per health check. The thread stays, and so does its database connection."""

    def __init__(self, name: str, check: Callable[[], Any]):
        self.name = name
        self._check = check
        self._lock = threading.Lock()
        self._run: Run | None = None
        self._asked = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Run:
        """The check under way, or a new one."""
        with self._lock:
            if self._run is None or self._run.done.is_set():
                self._run = Run()
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._serve, name=f"gitferry-health-{self.name}",
                                                    daemon=True)
                    self._thread.start()
                self._asked.set()
            return self._run

    def _serve(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()
            run = self._run
            assert run is not None
            try:
                run.value = self._check()
            except Exception as exc:
                run.error = type(exc).__name__
            finally:
                run.done.set()


class Run:
    """One run of a Probe's check: what it gave, or the name of what it raised."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: str | None = None


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    store = services().store
    lines = ["# HELP gitferry_jobs Jobs by kind and state.", "# TYPE gitferry_jobs gauge"]
    lines += [f'gitferry_jobs{{kind="{kind}",state="{state}"}} {count}' for kind, state, count in store.jobs.counts()]
    lines += ["# HELP gitferry_repos Managed repos by state.", "# TYPE gitferry_repos gauge"]
    lines += [f'gitferry_repos{{state="{state}"}} {count}' for state, count in store.repos.counts()]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
