"""The OpenAPI document's part for pushes that look first (expect, dry_run, their results) and
for backups; openapi.py merges it into its paths and schemas."""

from __future__ import annotations

from service.web.openapi import EXPECT, JOB_ANSWERS, NAME, WAIT
from service.web.openapi_builders import (
    BOOL,
    TIME,
    Schema,
    array,
    errors,
    integer,
    nullable,
    obj,
    ok,
    op,
    path_param,
    ref,
    string,
)

BACKUP_ID = {**path_param("backup_id", "A backup's id"), "schema": integer(minimum=1)}

SCHEMAS: dict[str, Schema] = {  # (PushResult and RestoreResult: openapi_results.py)
    "Commit": obj(["sha", "parents", "subject", "author", "committed_at"], sha=string(), parents=array(string()),
                  subject=string(), author=obj(["name", "email", "date"], name=string(), email=string(),
                                               date=string(format="date-time")),
                  committed_at=string(format="date-time")),
    "Backup": obj(
        ["id", "branch", "remote", "where", "sha", "replaced_by", "ref", "job", "created_at"],
        id=integer(), branch=string(),
        remote=nullable(string(description="null: a local branch's backup (a rebase replaced its tip)")),
        where=string("remote", "local"), sha=string(description="The tip kept"),
        replaced_by=nullable(string(description="The tip that replaced it; a restore is leased on it")),
        ref=string(description="The ref that keeps it in the clone (outlives git gc)"),
        job=nullable(integer(description="The id of the job that made it")), created_at=TIME),
}

PATHS: dict[str, Schema] = {
    "/api/v1/repos/{name}/backups": {
        "parameters": [NAME],
        "get": op("List the backups of what force pushes and rebases replaced, newest first (not past "
                  "GITFERRY_BACKUP_RETENTION_DAYS)", "read",
                  {**ok("200", "The backups", obj(["backups"], backups=array(ref("Backup")))), **errors(404)},
                  tag="backups"),
    },
    "/api/v1/repos/{name}/backups/{backup_id}/restore": {
        "parameters": [NAME, BACKUP_ID],
        "post": op("Put the branch back where the backup kept it: a leased push (remote) or a reset (local). "
                   "Refused as `stale` if the branch moved since the backup's job, unless forced with expect; "
                   "the tip it replaces is backed up in turn. The job's result is a RestoreResult", "admin",
                   {**JOB_ANSWERS, **errors(403, 404, 422)}, params=[WAIT], tag="backups",
                   body=obj(force={**BOOL, "default": False, "description": "Restore over a branch that moved"},
                            expect={**EXPECT, "description": "With force: the tip the branch must be at now"})),
    },
    "/api/v1/repos/{name}/backups/{backup_id}": {
        "parameters": [NAME, BACKUP_ID],
        "delete": op("Delete a backup (its ref goes the next time a worker holds the clone)", "admin",
                     {**ok("204", "Deleted"), **errors(403, 404)}, tag="backups"),
    },
}
