"""Backups of what force pushes and rebases replaced: listed from what workers recorded, put
back by a job, deleted (the worker holding the clone deletes the ref)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.records import Backup, Json, Repo
from service.domain.types import JobKind, Scope
from service.web.answers import answer_op, find_repo
from service.web.api_ops import expected_tip
from service.web.auth import requires
from service.web.context import field, json_body, services, wait_seconds
from service.web.errors import ApiError
from service.web.views import backup_view

bp = Blueprint("backups", __name__)


def _find_backup(repo: Repo, backup_id: str) -> Backup:
    found = None
    if backup_id.isascii() and backup_id.isdigit() and len(backup_id) < 19:
        found = services().store.backups.get(repo.id, int(backup_id), services().settings.backups_kept_since)
    if found is None:
        raise ApiError(404, "backup_not_found", f"no backup {backup_id[:40]!r}")
    return found


@bp.get("/api/v1/repos/<path:name>/backups")
@requires(Scope.READ)
def list_backups(name: str) -> ResponseReturnValue:
    repo = find_repo(name)
    return jsonify({"backups": [backup_view(b) for b in kept_backups(repo)]})


@bp.post("/api/v1/repos/<path:name>/backups/<backup_id>/restore")
@requires(Scope.ADMIN)
def restore_backup(name: str, backup_id: str) -> ResponseReturnValue:
    repo = find_repo(name)
    wait_seconds()  # a bad ?wait is refused before any job is recorded
    return answer_op(repo, JobKind.RESTORE, restore_params(repo, backup_id, json_body()))


def restore_params(repo: Repo, backup_id: str, body: Json) -> Json:
    """A restore job's parameters from a request's fields, checked (the API's and the dashboard's)."""
    force = field(body, "force", bool, False)
    expect = expected_tip(body)
    if force and expect is None:
        raise ApiError(422, "invalid", "a forced restore names the tip it overwrites: give expect")
    if expect is not None and not force:
        raise ApiError(422, "invalid", "expect goes with force: true")
    backup = _find_backup(repo, backup_id)
    return {"backup_id": backup.id, "ref": backup.ref, "sha": backup.sha, "remote": backup.remote,
            "branch": backup.branch, "lease": expect if force else backup.replaced_by}


@bp.delete("/api/v1/repos/<path:name>/backups/<backup_id>")
@requires(Scope.ADMIN)
def delete_backup(name: str, backup_id: str) -> ResponseReturnValue:
    delete_backup_of(find_repo(name), backup_id)
    return "", 204


def delete_backup_of(repo: Repo, backup_id: str) -> Backup:
    """Forget a backup (the API's and the dashboard's); 404 when there is none."""
    backup = _find_backup(repo, backup_id)
    if not services().store.backups.delete(repo.id, backup.id):
        raise ApiError(404, "backup_not_found", f"no backup {backup_id[:40]!r}")
    return backup


def kept_backups(repo: Repo) -> list[Backup]:
    """The repo's backups still kept, newest first."""
    return services().store.backups.of_repo(repo.id, services().settings.backups_kept_since)
