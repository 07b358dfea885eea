"""Liveness for load balancers and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from service.web.context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    svc = services()
    problems = {}
    try:
        svc.store.ping()
    except Exception as exc:
        problems["database"] = f"database unreachable ({type(exc).__name__})"
    broker = svc.jobs.ping()
    if broker:
        problems["broker"] = broker
    if problems:
        return jsonify({"status": "unavailable", "problems": problems}), 503
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    store = services().store
    lines = ["# HELP gitferry_jobs Jobs by kind and state.", "# TYPE gitferry_jobs gauge"]
    lines += [f'gitferry_jobs{{kind="{kind}",state="{state}"}} {count}' for kind, state, count in store.jobs.counts()]
    lines += ["# HELP gitferry_repos Managed repos by state.", "# TYPE gitferry_repos gauge"]
    lines += [f'gitferry_repos{{state="{state}"}} {count}' for state, count in store.repos.counts()]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
