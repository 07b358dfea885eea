"""The OpenAPI 3.1 document of the HTTP API: the reference of what service/web implements.

tests/api/test_openapi.py checks that every /api/v1 and /hooks rule of the app is here with its methods.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.types import JobKind, JobState, PullStrategy, Scope
from service.forges.accounts import OUTCOMES
from service.forges.registry import ENDPOINTS, KINDS, PROVIDERS
from service.web.openapi_builders import (
    BOOL,
    TIME,
    Schema,
    array,
    errors,
    integer,
    json_content,
    nullable,
    obj,
    ok,
    op,
    path_param,
    query,
    ref,
    string,
)
from service.web.openapi_operations import TAGS, name_and_show
from service.web.openapi_results import SCHEMAS as JOB_SCHEMAS

bp = Blueprint("openapi", __name__)

ERROR_TEXT = {
    400: "Bad JSON, a missing field, a field of the wrong type or a bad query parameter",
    401: "No or unknown token", 403: "The token's scope is too small",
    404: "Unknown repo, remote, branch or job", 409: "State conflict", 413: "Body too large",
    422: "Valid JSON, refused value (ref name, URL scheme or host, ...)",
    429: "Too many wrong tokens from this address, or (waiting on a job) too many calls waiting already; "
         "nothing was done. See Retry-After",
    502: "The forge or the worker failed",
    503: "A clone's worker did not answer a read in time, the database is not answering, or (forks) the forge "
         "rate-limits; nothing was done. See Retry-After",
}


NAME = path_param("name", "The repo's name as given, e.g. `acme/widgets`; it may contain `/`, sent as is.")
BRANCH = path_param("branch", "A local branch name; it may contain `/`, sent as is.")
WAIT = query("wait", {"type": "number", "minimum": 0, "maximum": 60},
             "Wait up to this many seconds for the job to end: 200 with the finished job, 202 if time ran out; "
             "429 (nothing recorded) if too many calls are waiting already.")
STRATEGY = string(*[s.value for s in PullStrategy])
REF = string(minLength=1, maxLength=4000, description="A git branch name; each part at most 255 bytes (the last 250)")
REMOTE_NAME = string(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", maxLength=100)
NOTIFY_URL = string(maxLength=2048, format="uri",
                    description="https:// (http:// and local or private hosts only when GITFERRY_ALLOW_LOCAL_REMOTES "
                                "is on); no credentials: use notify_secret")
URL = string(maxLength=2048, description="https://, ssh:// or user@host:path (file:// and http:// only when "
                                         "GITFERRY_ALLOW_LOCAL_REMOTES is on); no credentials")
JOB_ANSWER = obj(["job"], job=ref("Job"))
JOB_ANSWERS = {**ok("200", "With ?wait: the job ended", JOB_ANSWER), **ok("202", "The job is queued or running",
                                                                          JOB_ANSWER)}

# How each remote's fetches go (what a fetch moved: openapi_results.py).
REMOTE_FETCH_STATUS: dict[str, Schema] = {
    "last_attempt_at": TIME, "last_success_at": TIME,
    "last_error": nullable({**ref("ErrorDetail"), "description": "Why the last fetch failed; null once one succeeds"}),
    "fetch_failures": integer(minimum=0, description="Fetches in a row that failed"),
    "backing_off": {**BOOL, "description": "Scheduled fetches leave the remote alone until next_attempt_at: it keeps "
                    "failing with a permanent error (auth, not_found); an explicit fetch (API, webhook) always tries"},
    "next_attempt_at": TIME, "backoff_reason": nullable(string(description="While backing_off, why"))}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(["error"], error=obj(["code", "message"], code=string(), message=string())),
    "Remote": obj(["name", "url", "provider", *REMOTE_FETCH_STATUS], name=string(), url=string(),
                  provider=string(*PROVIDERS), web_url=nullable(string(description="Its page on its forge")),
                  **REMOTE_FETCH_STATUS),
    "AddedRemote": {"allOf": [ref("Remote"), obj(["job"], job={**ref("Job"), "description": (
        "The fetch of the new remote, queued (GET /api/v1/jobs/{job_id} follows it)")})]},
    "Repo": obj(
        ["name", "url", "provider", "default_branch", "pull_strategy", "fetch_interval", "protected_branches",
         "state", "last_fetch_at", "notify_url", "notify_secret_set", "remotes", "failing_remotes"],
        name=string(), url=string(), provider=string(*PROVIDERS), default_branch=nullable(string()),
        pull_strategy=STRATEGY, fetch_interval=integer(minimum=0), protected_branches=array(string()),
        state=string("cloning", "ready", "error"), error=nullable(string()), last_fetch_at=TIME,
        notify_url=nullable(string(description="Where finished jobs are POSTed; credentials never shown")),
        notify_secret_set={**BOOL, "description": "Whether a notify_secret is set (the secret is write-only)"},
        remotes=array(ref("Remote")), web_url=nullable(string(description="Its page on its forge")),
        failing_remotes=array(string(description="A remote whose last fetch failed")),
        job={**ref("Job"), "description": "Only in the answer to POST /api/v1/repos: the clone job, queued"}),
    "Rule": obj(
        ["name", "remote", "branch", "local_branch", "strategy", "push_to", "allow_force"],
        name=string(), remote=string(), branch=string(), local_branch=string(),
        strategy=nullable(string(*[s.value for s in PullStrategy], description="null: the repo's pull_strategy")),
        push_to=nullable(string(description="A remote the updated branch is pushed to under the same name")),
        allow_force=BOOL),
    "Branch": obj(["name", "sha", "upstream", "ahead", "behind", "gone"], name=string(), sha=string(),
                  upstream=nullable(string(description="e.g. origin/main")), ahead=nullable(integer()),
                  behind=nullable(integer()),
                  gone={**BOOL, "description": "Upstream deleted on the remote (git's [gone])"}),
    "RemoteBranch": obj(["remote", "name", "sha"], remote=string(), name=string(), sha=string()),
    "WebhookAnswer": {"oneOf": [
        obj(["jobs"], jobs=array(integer(description="A fetch job's id"))),
        obj(["ignored"], ignored=string(description="Why nothing was done")),
    ]},
    "Forge": obj(["kind", "host", "api_url", "git_protocol", "has_token", "has_webhook_secret", "source"],
                 kind=string(*KINDS), host=string(), api_url=string(), git_protocol=string("https", "ssh"),
                 username=string(), has_token=BOOL, has_webhook_secret=BOOL, source=string("config", "api")),
    "TokenTest": obj(["host", "kind", "ok", "outcome", "account", "message"], host=string(), kind=string(*KINDS),
                     ok=BOOL, outcome=string(*OUTCOMES), message=string(),
                     account=string(description="The account the token belongs to, as the forge names it; "
                                                "\"\" unless ok")),
    "Token": obj(["name", "scope"], name=string(), scope=string(*[s.value for s in Scope]), created_at=TIME),
    **JOB_SCHEMAS,  # Job, <Kind>Job and <Kind>Result: service/web/openapi_results.py
}


# --- pull: its dry run (its result: openapi_results.py) ---
PULL_DRY_RUN: Schema = {**BOOL, "default": False,
                        "description": "Fetch the upstream branch's tip (into FETCH_HEAD only) and tell what the "
                                       "pull would do (the job's result is a PullResult with dry_run, incoming and "
                                       "the conflicts predicted) without changing any ref, index or working tree"}

RESPONSES = {
    f"E{status}": {"description": text, **json_content(ref("Error")),
                   **({"headers": {"WWW-Authenticate": {"schema": string()}}} if status == 401 else {})}
    for status, text in ERROR_TEXT.items()
}

REPO_FIELDS: dict[str, Schema] = {
    "pull_strategy": STRATEGY,
    "fetch_interval": integer(minimum=0, maximum=604800, description="Seconds between fetches, 0 = off"),
    "protected_branches": array(string(minLength=1, description="A glob of branch names on a remote")),
}

# push: expect and dry_run (the results' schemas and the backups' paths: openapi_backups.py, merged below)
SHA = string(pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$", description="A full commit sha")
EXPECT = {**SHA, "description": "The tip the remote's branch must be at now, as a push's result showed it "
                                "(`before`): a force is leased on exactly this sha, and refused as `stale`, "
                                "naming the tip, if the branch has moved since"}
DRY_RUN = {**BOOL, "default": False,
           "description": "Do everything up to the change and say what would happen (the result's outcome is "
                          "fast-forward, create, force, up-to-date or rejected); nothing changes on the remote, "
                          "and no local ref but the remote-tracking ref of the branch, which is fetched first"}

# A change to a clone's refs answers once made; past its wait, 202 with its job (a 5xx: nothing was done).
CHANGE_WAIT = query("wait", {"type": "number", "minimum": 0, "maximum": 60, "default": 30}, "Wait up to this many "
                    "seconds for the change; past it, 202 with its job. 429 (nothing recorded) if too many wait.")
CHANGE_QUEUED = ok("202", "The clone is busy: the change is queued as this job", JOB_ANSWER)
JOB_WAIT = {**WAIT, "description": "Wait up to N seconds for the job (201 either way)"}

RULE_FIELDS: dict[str, Schema] = {"name": REMOTE_NAME, "remote": REMOTE_NAME, "branch": REF,
               "local_branch": {**REF, "description": "Default: the same as branch"},
               "strategy": {**STRATEGY, "description": "Default: the repo's pull_strategy"},
               "push_to": {**REMOTE_NAME, "description": "A remote to push local_branch to"},
               "allow_force": {**BOOL, "default": False,
                               "description": "Push with a lease and a backup when not a fast-forward"}}
NULLABLE_RULE_FIELDS = {"local_branch", "strategy", "push_to", "allow_force"}

PATHS: dict[str, Schema] = {
    "/api/v1/repos": {
        "get": op("List repos", "read", {**ok("200", "The repos", obj(["repos"], repos=array(ref("Repo")))),
                                         **errors()}),
        "post": op("Add a repo (cloned by a job)", "admin",
                   {**ok("201", "The repo, state cloning, with its clone job", ref("Repo")), **errors(403, 409, 422)},
                   body=obj(["name", "url"], name=string(maxLength=200), url=URL, **REPO_FIELDS), params=[JOB_WAIT]),
    },
    "/api/v1/repos/{name}": {
        "parameters": [NAME],
        "get": op("Get a repo", "read", {**ok("200", "The repo", ref("Repo")), **errors(404)}),
        "patch": op("Change a repo's settings", "admin",
                    {**ok("200", "The repo", ref("Repo")), **errors(403, 404, 422)},
                    body=obj(**REPO_FIELDS,
                             notify_url=nullable({**NOTIFY_URL, "description": NOTIFY_URL["description"]
                                                  + "; finished jobs are POSTed there. null clears it"}),
                             notify_secret=nullable(string(writeOnly=True, description=(
                                 "Signs notifications: X-Gitferry-Signature-256: sha256=<hex HMAC-SHA256>. "
                                 "Never shown again (see notify_secret_set); null clears it"))))
                    | {"additionalProperties": False}),
        "delete": op("Remove a repo and its clone", "admin", {**ok("204", "Removed"), **errors(403, 404)}),
    },
    "/api/v1/repos/{name}/remotes": {
        "parameters": [NAME],
        "get": op("List remotes", "read", {**ok("200", "The remotes", obj(["remotes"], remotes=array(ref("Remote")))),
                                           **errors(404)}, tag="remotes"),
        "post": op("Add a remote (then fetched by a job)", "admin",
                   {**ok("201", "The remote, with the job that fetches it", ref("AddedRemote")),
                    **errors(403, 404, 409, 422)}, tag="remotes",
                   body={"oneOf": [obj(["name", "url"], name=REMOTE_NAME, url=URL),
                                   obj(["fork"], name=REMOTE_NAME,
                                       fork=string(description="A full_name from /forks; name defaults to "
                                                               "the fork owner's login"))]}, params=[JOB_WAIT]),
    },
    "/api/v1/repos/{name}/remotes/{remote}": {
        "parameters": [NAME, path_param("remote", "A remote's name")],
        "delete": op("Remove a remote (not origin)", "admin",
                     {**ok("204", "Removed"), **CHANGE_QUEUED, **errors(403, 404, 409)}, tag="remotes",
                     params=[CHANGE_WAIT], notes="204 once the clone has dropped it."),
    },
    "/api/v1/repos/{name}/forks": {
        "parameters": [NAME],
        "get": op("List forks of origin from its forge", "read",
                  {**ok("200", "The forks", obj(["forks"], forks=array(obj(
                      ["full_name", "owner", "clone_url", "ssh_url", "web_url", "provider"],
                      full_name=string(), owner=string(), clone_url=string(), ssh_url=string(),
                      web_url=string(), provider=string(*PROVIDERS))))), **errors(404, 422, 502)},
                  params=[query("refresh", string("0", "1"), "1 asks the forge again instead of the cache")],
                  tag="remotes"),
    },
    "/api/v1/repos/{name}/branches": {
        "parameters": [NAME],
        "get": op("List local and remote-tracking branches with ahead/behind", "read",
                  {**ok("200", "The branches", obj(["branches", "remote_branches"], branches=array(ref("Branch")),
                                                   remote_branches=array(ref("RemoteBranch")))), **errors(404)},
                  tag="branches"),
        "post": op("Create a branch", "write",
                   {**ok("201", "The branch", ref("Branch")), **CHANGE_QUEUED, **errors(403, 404, 409, 422)},
                   tag="branches", params=[CHANGE_WAIT], notes=(
                       "409 `ref_conflict` names the branch in the way (no `a/b` while `a` exists, nor the other way "
                       "round), `ambiguous_start_point` both refs a short start point names; 422 for a name git "
                       "cannot store."),
                   body=obj(["name", "start_point"], name=REF, track={**BOOL, "default": True}, start_point=string(
                       description="<remote>/<branch>, a branch or a sha; or refs/heads/<branch> or "
                                   "refs/remotes/<remote>/<branch> when a short name is both"))),
    },
    "/api/v1/repos/{name}/tags": {
        "parameters": [NAME],
        "get": op("List tags", "read", {**ok("200", "The tags", obj(["tags"], tags=array({"type": "object"}))),
                                        **errors(404)}, tag="branches"),
    },
    "/api/v1/repos/{name}/branches/{branch}/upstream": {
        "parameters": [NAME, BRANCH],
        "put": op("Set a branch's upstream", "write",
                  {**ok("200", "The branch", ref("Branch")), **CHANGE_QUEUED, **errors(403, 404, 422)},
                  tag="branches", body=obj(["remote", "branch"], remote=REMOTE_NAME, branch=REF),
                  params=[CHANGE_WAIT], notes="404 `upstream_not_found`: fetch first."),
        "delete": op("Unset a branch's upstream", "write",
                     {**ok("204", "Unset"), **CHANGE_QUEUED, **errors(403, 404, 422)}, tag="branches",
                     params=[CHANGE_WAIT]),
    },
    "/api/v1/repos/{name}/fetch": {
        "parameters": [NAME],
        "post": op("Fetch a remote, or all", "write", {**JOB_ANSWERS, **errors(403, 404, 422)}, params=[WAIT],
                   tag="operations", body=obj(remote=REMOTE_NAME, prune={**BOOL, "default": True})),
    },
    "/api/v1/repos/{name}/pull": {
        "parameters": [NAME],
        "post": op("Update a branch from its upstream", "write", {**JOB_ANSWERS, **errors(403, 404, 409, 422)},
                   params=[WAIT], tag="operations",
                   body=obj(["branch"], branch=REF, strategy=STRATEGY, dry_run=PULL_DRY_RUN)),
    },
    "/api/v1/repos/{name}/push": {
        "parameters": [NAME],
        "post": op("Push a branch, having fetched the remote's branch first (force needs admin, but not in a dry "
                   "run); the job's result is a PushResult", "write", {**JOB_ANSWERS, **errors(403, 404, 422)},
                   params=[WAIT], tag="operations",
                   body=obj(["branch"], branch=REF, remote=REMOTE_NAME, remote_branch=REF, set_upstream=BOOL,
                            force={**BOOL, "default": False}, expect=EXPECT, dry_run=DRY_RUN)),
    },
    "/api/v1/repos/{name}/rules": {
        "parameters": [NAME],
        "get": op("List sync rules", "read", {**ok("200", "The rules", obj(["rules"], rules=array(ref("Rule")))),
                                              **errors(404)}, tag="rules"),
        "post": op("Add a sync rule: when a fetch moves <remote>/<branch>, update local_branch (and push it on)",
                   "admin", {**ok("201", "The rule", ref("Rule")), **errors(403, 404, 409, 422)}, tag="rules",
                   body=obj(["name", "remote", "branch"], **RULE_FIELDS)),
    },
    "/api/v1/repos/{name}/rules/{rule}": {
        "parameters": [NAME, path_param("rule", "A rule's name")],
        "patch": op("Change a sync rule: the fields given (its name too), the others as they were", "admin",
                    {**ok("200", "The rule as it is now", ref("Rule")), **errors(403, 404, 409, 422)}, tag="rules",
                    notes="Checked as a new rule is; null sets local_branch, strategy, push_to or allow_force back "
                          "to its default. 409 `rule_exists` when another rule has the new name.",
                    body=obj(**{k: nullable(v) if k in NULLABLE_RULE_FIELDS else v for k, v in RULE_FIELDS.items()})
                    | {"additionalProperties": False}),
        "delete": op("Remove a sync rule", "admin", {**ok("204", "Removed"), **errors(403, 404)}, tag="rules"),
    },
    "/api/v1/jobs": {
        "get": op("List jobs, newest first", "read", {**ok("200", "The jobs", obj(["jobs"], jobs=array(ref("Job")))),
                                                      **errors(400)}, tag="jobs",
                  params=[query("repo", string(), "Only this repo's jobs"),
                          query("state", string(*[s.value for s in JobState]), "Only jobs in this state"),
                          query("kind", string(*[k.value for k in JobKind]), "Only jobs of this kind"),
                          query("limit", integer(minimum=1, maximum=500, default=50), "At most this many")]),
    },
    "/api/v1/jobs/{job_id}": {
        "parameters": [{**path_param("job_id", "A job's id"), "schema": integer(minimum=1)}],
        "get": op("Get a job", "read", {**ok("200", "The job itself (not wrapped)", ref("Job")), **errors(404)},
                  tag="jobs"),
    },
    "/api/v1/forges": {
        "get": op("List forge integrations (GITFERRY_CONFIG and API-added; never tokens or secrets)", "admin",
                  {**ok("200", "The forges", obj(["forges"], forges=array(ref("Forge")))), **errors(403)},
                  tag="forges"),
        "post": op("Add a forge integration; token and webhook_secret are encrypted with GITFERRY_SECRET_KEY",
                   "admin", {**ok("201", "The forge", ref("Forge")), **errors(400, 403, 409, 422)}, tag="forges",
                   body=obj(["kind"], kind=string(*KINDS), host=string(), api_url=string(),
                            token=string(), webhook_secret=string(), git_protocol=string("https", "ssh"),
                            username=string())),
    },
    "/api/v1/forges/{host}": {
        "parameters": [path_param("host", "host[:port] of an API-added forge")],
        "delete": op("Remove an API-added forge (GITFERRY_CONFIG entries stay)", "admin",
                     {**ok("204", "Removed"), **errors(403, 404, 409)}, tag="forges"),
    },
    "/api/v1/forges/{host}/test": {
        "parameters": [path_param("host", "host[:port] of a forge (GITFERRY_CONFIG or API-added)")],
        "post": op("Test a forge's token: ask the forge whose it is (never answers the token)", "admin",
                   {**ok("200", "What the forge said: ok and the account, or why not (token refused, host "
                                "unreachable or local, rate limited, no token)", ref("TokenTest")),
                    **errors(403, 404)}, tag="forges"),
    },
    "/api/v1/tokens": {
        "get": op("List tokens (names and scopes)", "admin",
                  {**ok("200", "The tokens", obj(["tokens"], tokens=array(ref("Token")))), **errors(403)},
                  tag="tokens"),
        "post": op("Create a token; it is shown this once", "admin",
                   {**ok("201", "The token", obj(["name", "scope", "token"], name=string(),
                                                 scope=string(*[s.value for s in Scope]), token=string())),
                    **errors(403, 409, 422)}, tag="tokens",
                   body=obj(["name", "scope"], name=REMOTE_NAME, scope=string(*[s.value for s in Scope]))),
    },
    "/api/v1/tokens/{name}": {
        "parameters": [path_param("name", "A token's name")],
        "delete": op("Revoke a token at once", "admin", {**ok("204", "Revoked"), **errors(403, 404)}, tag="tokens"),
    },
    "/hooks/{forge}": {
        "parameters": [{**path_param("forge", "The forge that sends the delivery (Bitbucket Cloud and "
                                              "Server/Data Center share one; Forgejo sends to Gitea's)"),
                        "schema": string(*ENDPOINTS)}],
        "post": {
            "summary": "Receive a forge's webhook delivery; a push to a remote of a managed repo fetches it",
            "tags": ["webhooks"], "security": [],
            "description": "Not under /api/v1 and no bearer token: each delivery is verified as its forge signs "
                           "it, with the `webhook_secret` of the forges-config entry for the event's host, else "
                           "`GITFERRY_WEBHOOK_SECRET`. A delivery id seen before answers with the jobs it made "
                           "the first time.",
            "requestBody": {"required": True, **json_content({"type": "object",
                                                              "description": "The forge's own event payload"})},
            "responses": {
                **ok("200", "A ping", obj(["ok"], ok=BOOL, forge=string())),
                **ok("202", "Accepted: the fetch jobs it queued, or why it was ignored", ref("WebhookAnswer")),
                "400": {"description": "Not JSON, or headers that are not the forge's", **json_content(ref("Error"))},
                "401": {"description": "Signature or token missing or wrong, or no webhook secret configured",
                        **json_content(ref("Error"))},
                "404": {"description": "Not a known forge", **json_content(ref("Error"))},
                "413": {"$ref": "#/components/responses/E413"},
                "503": {"description": "The database is not answering; see Retry-After",
                        **json_content(ref("Error"))},
            },
        },
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "tags": ["meta"], "security": [],
                "responses": ok("200", "The OpenAPI document", {"type": "object"})},
    },
}


# Pushes that look first, and backups: their own module, built with the helpers above.
from service.web import openapi_backups  # noqa: E402

PATHS.update(openapi_backups.PATHS)
SCHEMAS.update(openapi_backups.SCHEMAS)
# Reads of a clone (commits, compare), asked of its worker: not jobs.
from service.web import openapi_reads  # noqa: E402

PATHS.update(openapi_reads.PATHS)
SCHEMAS.update(openapi_reads.SCHEMAS)

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "gitferry", "version": "1",
             "description": "Server-side git sync: repos, remotes, branches, fetch/pull/push jobs, sync rules, "
                            "webhooks. Errors are "
                            '`{"error": {"code", "message"}}`; bodies are JSON whatever their Content-Type.'},
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "tags": TAGS,
    "paths": name_and_show(PATHS),
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "Scopes: read < write < admin"}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}


@bp.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(DOCUMENT)
