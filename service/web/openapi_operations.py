"""What names the operations of the OpenAPI document and shows them: each operation's
operationId, the tags with what they group, and examples of the main calls.

Kept apart from the paths so that adding an endpoint there and naming it here are small blocks.
tests/api/test_openapi.py checks that every operation has a unique operationId and that every
example is valid against its own schema.
"""

from __future__ import annotations

import copy
from typing import Any

from service.web.openapi_builders import Schema

TAGS: list[Schema] = [
    {"name": "repos", "description": "Repos gitferry keeps a server-side clone of"},
    {"name": "remotes", "description": "A repo's remotes (origin is its own URL), and forks to add as remotes"},
    {"name": "branches", "description": "Local branches with ahead/behind, remote-tracking branches, tags, "
                                        "upstreams"},
    {"name": "operations", "description": "fetch, pull and push: each queues a job; ?wait answers with it ended"},
    {"name": "backups", "description": "The tips force pushes and rebases replaced, kept as refs; restore one"},
    {"name": "rules", "description": "Sync rules: when a fetch moves a remote branch, update a local branch and "
                                     "push it on"},
    {"name": "jobs", "description": "Every change to a clone is a job run by a worker; its result depends on its "
                                    "kind"},
    {"name": "forges", "description": "Forge integrations: API hosts, tokens and webhook secrets"},
    {"name": "tokens", "description": "API tokens and their scopes (read < write < admin)"},
    {"name": "webhooks", "description": "Forges' push deliveries, which fetch the remotes they name"},
    {"name": "meta", "description": "This document"},
]

OPERATION_IDS: dict[str, str] = {
    "get /api/v1/repos": "list_repos",
    "post /api/v1/repos": "add_repo",
    "get /api/v1/repos/{name}": "get_repo",
    "patch /api/v1/repos/{name}": "change_repo",
    "delete /api/v1/repos/{name}": "remove_repo",
    "get /api/v1/repos/{name}/remotes": "list_remotes",
    "post /api/v1/repos/{name}/remotes": "add_remote",
    "delete /api/v1/repos/{name}/remotes/{remote}": "remove_remote",
    "get /api/v1/repos/{name}/forks": "list_forks",
    "get /api/v1/repos/{name}/branches": "list_branches",
    "post /api/v1/repos/{name}/branches": "create_branch",
    "get /api/v1/repos/{name}/tags": "list_tags",
    "put /api/v1/repos/{name}/branches/{branch}/upstream": "set_upstream",
    "delete /api/v1/repos/{name}/branches/{branch}/upstream": "unset_upstream",
    "post /api/v1/repos/{name}/fetch": "fetch",
    "post /api/v1/repos/{name}/pull": "pull",
    "post /api/v1/repos/{name}/push": "push",
    "get /api/v1/repos/{name}/backups": "list_backups",
    "get /api/v1/repos/{name}/commits": "list_commits",
    "get /api/v1/repos/{name}/compare/{spec}": "compare",
    "post /api/v1/repos/{name}/backups/{backup_id}/restore": "restore_backup",
    "delete /api/v1/repos/{name}/backups/{backup_id}": "delete_backup",
    "get /api/v1/repos/{name}/rules": "list_rules",
    "post /api/v1/repos/{name}/rules": "add_rule",
    "patch /api/v1/repos/{name}/rules/{rule}": "change_rule",
    "delete /api/v1/repos/{name}/rules/{rule}": "remove_rule",
    "get /api/v1/jobs": "list_jobs",
    "get /api/v1/jobs/{job_id}": "get_job",
    "get /api/v1/forges": "list_forges",
    "post /api/v1/forges": "add_forge",
    "delete /api/v1/forges/{host}": "remove_forge",
    "post /api/v1/forges/{host}/test": "test_forge_token",
    "get /api/v1/tokens": "list_tokens",
    "post /api/v1/tokens": "create_token",
    "delete /api/v1/tokens/{name}": "revoke_token",
    "post /hooks/{forge}": "receive_webhook",
    "get /api/v1/openapi.json": "get_openapi_document",
}

# --- examples ---------------------------------------------------------------------------------------

SHA1, SHA2 = "9fceb02d0ae598e95dc970b74767f19372d61af8", "e83c5163316f89bfbde7d9ab23ca2e25604af290"
TIMES = {"created_at": "2026-12-06T20:00:00Z", "started_at": "2026-12-06T20:00:00.05Z",
         "finished_at": "2026-12-06T20:00:00.6Z"}


def job(job_id: int, kind: str, params: dict[str, Any], result: dict[str, Any] | None,
        state: str = "done") -> dict[str, Any]:
    ended = state in ("done", "failed")
    return {"id": job_id, "repo": "acme/widgets", "kind": kind, "state": state, "trigger": "api",
            "started_by": "ci-bot", "params": params, "result": result, "error": None, "progress": None,
            "attempts": 1 if ended else 0,
            **{k: (v if ended or k == "created_at" else None) for k, v in TIMES.items()}}


NOT_FETCHED_YET = {"last_attempt_at": None, "last_success_at": None, "last_error": None, "fetch_failures": 0,
                   "backing_off": False, "next_attempt_at": None, "backoff_reason": None}
ORIGIN = {"name": "origin", "url": "https://github.com/acme/widgets.git", "provider": "github",
          "web_url": "https://github.com/acme/widgets", **NOT_FETCHED_YET}
MAIN = {"name": "main", "sha": SHA2, "upstream": "origin/main", "ahead": 0, "behind": 0, "gone": False}
FETCHED = job(42, "fetch", {"remote": "origin", "prune": True},
              {"remotes": {"origin": {"updated": [{"ref": "refs/heads/main", "old": SHA1, "new": SHA2}],
                                      "deleted": [], "default_branch": "main"}}})

# "<method> <path>": {"request": body, "<status>": answer}
EXAMPLES: dict[str, dict[str, Any]] = {
    "post /api/v1/repos": {
        "request": {"name": "acme/widgets", "url": "https://github.com/acme/widgets.git"},
        "201": {"name": "acme/widgets", "url": "https://github.com/acme/widgets.git", "provider": "github",
                "web_url": "https://github.com/acme/widgets", "default_branch": None, "pull_strategy": "ff-only",
                "fetch_interval": 300,
                "protected_branches": [], "state": "cloning", "error": None, "last_fetch_at": None,
                "notify_url": None, "notify_secret_set": False, "remotes": [ORIGIN], "failing_remotes": [],
                "job": job(41, "clone", {"url": "https://github.com/acme/widgets.git"}, None, state="queued")},
    },
    "post /api/v1/repos/{name}/remotes": {
        "request": {"name": "upstream", "url": "https://github.com/widgetco/widgets.git"},
        "201": {"name": "upstream", "url": "https://github.com/widgetco/widgets.git", "provider": "github",
                "web_url": "https://github.com/widgetco/widgets", **NOT_FETCHED_YET,
                "job": job(43, "fetch", {"remote": "upstream", "prune": True}, None, state="queued")},
    },
    "post /api/v1/repos/{name}/fetch": {"request": {"remote": "origin"}, "200": {"job": FETCHED}},
    "post /api/v1/repos/{name}/pull": {
        "request": {"branch": "main", "strategy": "ff-only"},
        "200": {"job": job(44, "pull", {"branch": "main", "strategy": "ff-only"},
                           {"outcome": "fast-forwarded", "before": SHA1, "after": SHA2, "conflicts": []})},
    },
    "post /api/v1/repos/{name}/push": {
        "request": {"branch": "feature/login", "remote": "origin"},
        "200": {"job": job(45, "push", {"branch": "feature/login", "remote": "origin", "remote_branch": None,
                                        "set_upstream": None, "force": False},
                           {"outcome": "rejected", "remote": "origin", "remote_branch": "feature/login",
                            "before": SHA1, "after": SHA2, "reason": "non-fast-forward",
                            "force_available": True})},
    },
    "get /api/v1/repos/{name}/branches": {
        "200": {"branches": [MAIN, {"name": "feature/login", "sha": SHA1, "upstream": None, "ahead": None,
                                    "behind": None, "gone": False}],
                "remote_branches": [{"remote": "origin", "name": "main", "sha": SHA2}]},
    },
    "post /api/v1/repos/{name}/branches": {
        "request": {"name": "feature/login", "start_point": "origin/main"},
        "201": {**MAIN, "name": "feature/login"},
    },
    "get /api/v1/jobs/{job_id}": {"200": FETCHED},
    "post /api/v1/forges/{host}/test": {
        "200": {"host": "github.com", "kind": "github", "ok": True, "outcome": "ok", "account": "widget-bot",
                "message": "the forge accepted the token"},
    },
}


def name_and_show(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Give each operation of `paths` its operationId and examples; an id or example of an
    operation that is not there is an error at import. A copy: some answers are shared."""
    paths = copy.deepcopy(paths)
    for key, operation_id in OPERATION_IDS.items():
        method, path = key.split(" ", 1)
        paths[path][method]["operationId"] = operation_id
    for key, examples in EXAMPLES.items():
        method, path = key.split(" ", 1)
        operation = paths[path][method]
        for part, example in examples.items():
            target = operation["requestBody"] if part == "request" else operation["responses"][part]
            target["content"]["application/json"]["example"] = example
    return paths
