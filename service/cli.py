"""The `gitferry` command: serve (all in one), demo, web, worker, beat, db upgrade, token create."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from service.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from service.store import Store

log = logging.getLogger("gitferry")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"gitferry: bad setting: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin and migration lines are no news
    _keep_data_private(settings)
    try:
        return int(args.run(settings, args) or 0)
    except GaveUp as exc:
        print(f"gitferry: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gitferry", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="command")

    serve = sub.add_parser("serve", help="web, worker and scheduler together (embedded defaults)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(run=cmd_serve)

    demo = sub.add_parser("demo", help="a small local forge of repos and forks, added and served (no network)")
    demo.add_argument("--forge", type=Path, help="where the forge's bare repos go (default: <data dir>/demo-forge)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.set_defaults(run=cmd_demo)

    web = sub.add_parser("web", help="the HTTP API only")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8080)
    web.add_argument("--workers", type=int, default=2)
    web.set_defaults(run=cmd_web)

    worker = sub.add_parser("worker", help="a Celery worker that runs git on the clones")
    worker.add_argument("--concurrency", type=int, default=4)
    worker.add_argument(
        "--shard", default="all", help="with GITFERRY_WORKER_SHARDS=N: which queue (0..N-1) this worker serves"
    )
    worker.add_argument("--quiet", action="store_true", help="no start-up banner (as `serve` starts it)")
    worker.set_defaults(run=cmd_worker)

    beat = sub.add_parser("beat", help="the scheduler: auto-fetch and re-sending lost jobs")
    beat.set_defaults(run=cmd_beat)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(required=True, metavar="action")
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(run=cmd_db_upgrade)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(required=True, metavar="action")
    create = token_sub.add_parser("create", help="create a token and print it")
    create.add_argument("name")
    create.add_argument("--scope", choices=["read", "write", "admin"], default="admin")
    create.set_defaults(run=cmd_token_create)
    return parser


def _store(settings: Settings) -> Store:
    """The store, its schema brought up to date. A database that is not up yet (all the parts
    started together) is waited for, a line logged per try, for GITFERRY_DATABASE_WAIT seconds."""
    from service.jobs import open_store
    from service.store import DatabaseUnavailable, why_unavailable

    store = open_store(settings)
    deadline = time.monotonic() + settings.database_wait
    pause = 0.5
    while True:
        try:
            store.upgrade()
            return store
        except DatabaseUnavailable as exc:
            reason = why_unavailable(exc)
            if time.monotonic() + pause > deadline:
                store.close()
                raise GaveUp(f"the database is not reachable ({reason}); "
                             f"gave up after {settings.database_wait:g}s (GITFERRY_DATABASE_WAIT)") from None
            log.warning("database_unreachable retry_in=%ss reason=%s", pause, reason)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _keep_data_private(settings: Settings) -> None:
    """The data dir holds clones, the SQLite files and the sockets of the broker: for this user
    only. Files made from here on are (umask), and those made before are set so."""
    os.umask(0o077)
    data = settings.data_dir
    if data.is_dir():
        data.chmod(0o700)
        for path in data.glob("*.sqlite*"):
            path.chmod(0o600)


def _first_run_token(settings: Settings, store: Store) -> str | None:
    """On a database with no token at all (and no GITFERRY_ADMIN_TOKEN), an admin token named
    "admin", so that a newcomer reaches the dashboard with no extra step; None otherwise."""
    from service.store import NameTaken

    if settings.admin_token or store.tokens.any():
        return None
    try:
        return store.tokens.create("admin", "admin")
    except NameTaken:  # another serve made it at the same moment
        return None


class GaveUp(Exception):
    """A command cannot go on; the message says why, in one line."""


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    _store(settings).close()
    print("gitferry: database is up to date")
    return 0


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    from service.domain.validation import InvalidValue, check_remote_name
    from service.store import NameTaken

    try:
        check_remote_name(args.name)
        token = _store(settings).tokens.create(args.name, args.scope)
    except InvalidValue as exc:
        print(f"gitferry: {exc}", file=sys.stderr)
        return 2
    except NameTaken:
        print(f"gitferry: a token named {args.name!r} exists already", file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    if not _can_listen(args.host, args.port):
        return 2
    _store(settings).close()
    run_gunicorn(settings, args.host, args.port, args.workers)
    return 0


def _can_listen(host: str, port: int) -> bool:
    """Whether host:port is free to listen on; if not, says why. The web workers each listen on
    a socket of their own (reuse_port, below), so a server started on a port already taken would
    not fail: it would quietly share the connections with whatever holds it."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a listener sets it
            probe.bind(address)
    except OSError as exc:
        print(f"gitferry: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


THREADS = 16  # per web worker process
# Calls that wait on a job (?wait, and changes answered once made) hold a thread each, up to a
# minute; past this many, more are refused (429) before their job is recorded. Half the threads:
# the other eight answer webhooks, health checks and everything else, and intake on eight threads
# ran only 6-20% slower than on sixteen (ARCHITECTURE.md). Sixteen bots waiting at once fit in the
# two-process web when the kernel spreads them evenly; one that finds no place is told to retry.
WAITS = THREADS // 2


def run_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            # A thread per request in flight. A ?wait answer holds one for up to 60 s: with 8, the
            # waits of sixteen bots held every thread of a two-worker web, and webhook deliveries
            # queued behind them (now at most WAITS of them wait). Deliveries arriving together are
            # recorded together, so more threads also make bigger batches, and intake on PostgreSQL
            # ran faster (ARCHITECTURE.md).
            self.cfg.set("threads", THREADS)
            # Each worker listens on its own socket and the kernel spreads new connections
            # evenly: on one shared socket, whichever worker woke first took most of a burst's
            # keep-alive connections, and webhook intake ran at the speed of one process.
            self.cfg.set("reuse_port", True)
            self.cfg.set("timeout", 90)  # a ?wait answer may take up to 60 s
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", "warning")  # start-up says where to go (cmd_serve), not gunicorn's boot steps
            self.cfg.set("control_socket_disable", True)

        def load(self):  # type: ignore[no-untyped-def]
            from service.web import create_app

            return create_app(settings, migrate=False, max_waits=WAITS)

    App().run()


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from celery.exceptions import SecurityWarning

    from service.jobs import make_celery
    from workers.tasks.run import register

    try:
        queues = settings.shard_queues(args.shard)
    except SettingsError as exc:
        print(f"gitferry: {exc}", file=sys.stderr)
        return 2
    _store(settings).close()
    app = make_celery(settings)
    register(app)
    if args.quiet and os.geteuid() == 0:  # Celery says this in a box of eleven lines
        warnings.filterwarnings("ignore", category=SecurityWarning)
        print("gitferry: the worker runs as root; run gitferry as a user of its own where you can", flush=True)
    app.worker_main(
        [
            *(["--quiet"] if args.quiet else []),
            "worker",
            f"--loglevel={settings.log_level}",
            "--pool=threads",
            f"--concurrency={args.concurrency}",
            f"--queues={','.join(queues)}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=gitferry-{os.getpid()}@%h",
        ]
    )
    return 0


def cmd_beat(settings: Settings, args: argparse.Namespace) -> int:
    from service.jobs import JobQueue, make_celery
    from service.jobs.scheduler import run_beat

    store = _store(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_beat(JobQueue(make_celery(settings), store, settings), stop)
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Make the demo forge, add it (through the store and JobQueue, as the API does), and serve
    with local remotes allowed; once the worker cloned and fetched, a diverged branch is set up."""
    import dataclasses

    from service import demo
    from service.jobs import JobQueue, make_celery

    if not _can_listen(args.host, args.port):
        return 2
    os.environ["GITFERRY_ALLOW_LOCAL_REMOTES"] = "1"  # for the worker `serve` starts: the forge is local
    settings = dataclasses.replace(settings, allow_local_remotes=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    forge = (args.forge or settings.data_dir / "demo-forge").resolve()
    try:
        demo.build_forge(forge)
    except (OSError, subprocess.CalledProcessError) as exc:
        why = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else exc
        raise GaveUp(f"cannot make the demo forge in {forge}: {why}") from None
    store = _store(settings)
    jobs = JobQueue(make_celery(settings), store, settings)
    added = demo.add_to_gitferry(forge, store, jobs)
    token = None if settings.admin_token else demo.sign_in_token(store)
    print(f"gitferry: demo forge in {forge}; repo {added.repo.name!r} with remotes origin, {', '.join(demo.FORKS)}",
          flush=True)
    if settings.admin_token:
        print("gitferry: sign in at /dashboard/sign-in with the token in GITFERRY_ADMIN_TOKEN", flush=True)

    def set_up_branches() -> None:
        if not demo.fetch_and_track(store, jobs, added):
            print("gitferry: the demo's clone did not end within a minute; see its jobs", file=sys.stderr)
        store.close()

    return cmd_serve(settings, args, token=token, started=set_up_branches)


def cmd_serve(settings: Settings, args: argparse.Namespace, *, token: str | None = None,
              started: Callable[[], None] | None = None) -> int:
    """Worker, beat and web together; `started` runs once the worker and beat are started (the
    demo's), and `token` is a sign-in link's token made by the caller."""
    if not _can_listen(args.host, args.port):
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = _store(settings)
    first_token = token or _first_run_token(settings, store)
    store.close()
    me = [sys.executable, "-m", "service.cli"]
    children = [subprocess.Popen([*me, "worker", "--concurrency", "2", "--quiet"]), subprocess.Popen([*me, "beat"])]
    where = f"http://{args.host}:{args.port}"
    print(f"gitferry: dashboard on {where}/  (API {where}/api/v1, health {where}/healthz)", flush=True)
    print(f"gitferry: data in {settings.data_dir}", flush=True)
    if first_token:
        name, when = ("demo", "") if token else ("admin", "first run: ")
        print(f"gitferry: {when}sign in at {where}/dashboard/sign-in#token={first_token}", flush=True)
        print(f"gitferry: (that link holds the admin token \"{name}\"; it is shown this once)", flush=True)
    try:
        if started:
            started()
        run_gunicorn(settings, args.host, args.port, workers=2)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
