"""Answering reads of a clone (service/jobs/reads.py): commits and comparisons, without a job.

A read runs git on the clone without its lock (it changes nothing, and must not wait behind a
fetch) and hands its answer back to the asker; it records nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from workers.git import Clone, GitConfig, GitError, Resolved
from workers.git.graph import ORDERS
from workers.tasks.context import WorkerContext

log = logging.getLogger("gitferry.worker")
Read = Callable[[Clone, dict[str, Any]], dict[str, Any]]


def resolved(clone: Clone, ref: dict[str, Any] | str) -> Resolved:
    """A ref the web resolved from the refs snapshot already, or one for the clone to resolve."""
    return Resolved(**ref) if isinstance(ref, dict) else clone.resolve(ref)


def read_commits(clone: Clone, params: dict[str, Any]) -> dict[str, Any]:
    head = resolved(clone, params["ref"])
    not_ = resolved(clone, params["not"]) if params.get("not") else None
    page = clone.commits(head.sha, not_.sha if not_ else None, params["limit"], params.get("after"))
    return {"ref": head.to_dict(), "not": not_.to_dict() if not_ else None, **page.to_dict()}


def read_compare(clone: Clone, params: dict[str, Any]) -> dict[str, Any]:
    base = resolved(clone, params["base"])
    head = resolved(clone, params["head"])
    return clone.compare(base, head, params["limit"]).to_dict()


def read_graph(clone: Clone, params: dict[str, Any]) -> dict[str, Any]:
    """The commit graph's commits with their parents and refs."""
    order = params.get("order", "topo")
    if order not in ORDERS:
        raise GitError("invalid", f"order must be one of {sorted(ORDERS)}")
    return clone.graph(params["limit"], params.get("skip", 0), order).to_dict()


READS: dict[str, Read] = {"commits": read_commits, "compare": read_compare, "graph": read_graph}


def answer_read(ctx: WorkerContext, read_id: str, repo_id: int, kind: str, params: dict[str, Any]) -> None:
    """Run read `kind` on the repo's clone and hand the answer to the asker."""
    began = time.monotonic()
    clone = Clone(ctx.clone_path(repo_id), GitConfig(timeout=ctx.settings.read_timeout))
    try:
        if not clone.looks_intact():
            raise GitError("repo_not_ready", "the repo has no clone here yet; try again once it is ready")
        answer: dict[str, Any] = {"ok": READS[kind](clone, params)}
    except GitError as exc:
        answer = {"error": {"code": exc.code, "message": exc.message}}
    except Exception:
        log.exception("read_crashed read=%s kind=%s", read_id, kind)
        answer = {"error": {"code": "internal", "message": "internal error while reading the clone (see worker log)"}}
    ctx.jobs.reads.answer(read_id, answer)
    log.debug("read_done read=%s repo=%s kind=%s ms=%.1f", read_id, repo_id, kind, (time.monotonic() - began) * 1000)
