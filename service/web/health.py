"""Liveness for load balancers and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text

from service.store.tables import jobs, repos
from service.web.context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    svc = services()
    problems = {}
    try:
        with svc.store.db.tx() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        problems["database"] = f"database unreachable ({type(exc).__name__})"
    broker = svc.dispatcher.ping()
    if broker:
        problems["broker"] = broker
    if problems:
        return jsonify({"status": "unavailable", "problems": problems}), 503
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    lines = [
        "# HELP gitferry_jobs Jobs by kind and state.",
        "# TYPE gitferry_jobs gauge",
    ]
    with services().store.db.tx() as conn:
        for kind, state, count in conn.execute(
            select(jobs.c.kind, jobs.c.state, func.count()).group_by(jobs.c.kind, jobs.c.state)
        ):
            lines.append(f'gitferry_jobs{{kind="{kind}",state="{state}"}} {count}')
        lines += ["# HELP gitferry_repos Managed repos by state.", "# TYPE gitferry_repos gauge"]
        for state, count in conn.execute(select(repos.c.state, func.count()).group_by(repos.c.state)):
            lines.append(f'gitferry_repos{{state="{state}"}} {count}')
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
