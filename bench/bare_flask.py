"""A bare Flask endpoint answering 202, served exactly as `gitferry web` serves gitferry.

The reference of bench/hooks.py's intake figure. It does not copy the server settings: it calls
service.cli.run_gunicorn itself (bind, 2 workers, gthread, 16 threads, timeout, no access log)
with service.web.create_app swapped for the app below. run_gunicorn imports create_app from
service.web when a gunicorn worker loads its app (after the fork, as preload is off), so the
swap made here before the master starts is what every worker loads.

    .venv/bin/python -m bench.bare_flask [--port 8090] [--workers 2]
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, request


def create_bare_app(*_args: Any, **_kwargs: Any) -> Flask:
    app = Flask("bare")

    @app.post("/hooks/<endpoint>")
    def hook(endpoint: str) -> tuple[dict[str, Any], int]:
        request.get_data()  # any receiver has to read the body
        return {"ok": True}, 202

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import service.web
    from service.cli import run_gunicorn

    service.web.create_app = create_bare_app
    run_gunicorn(None, args.host, args.port, args.workers)  # type: ignore[arg-type]  # settings only reach create_app


if __name__ == "__main__":
    main()
