"""The OpenAPI document's part for the reads of a clone (commits, compare), which its worker
answers without a job; openapi.py merges it into its paths and schemas."""

from __future__ import annotations

from service.web.openapi import NAME
from service.web.openapi_builders import (
    Schema,
    array,
    errors,
    integer,
    nullable,
    obj,
    ok,
    op,
    path_param,
    query,
    ref,
    string,
)
from service.web.openapi_results import SHA

READ_REF = string(description="A local branch, <remote>/<branch>, a tag, or a commit sha (4 to 64 hex digits)")
LIMIT = integer(minimum=1, maximum=500, default=50)

SCHEMAS: dict[str, Schema] = {  # (Commit: openapi_backups.py)
    "CompareSide": obj(["total", "commits"], total=integer(), commits=array(ref("Commit"))),  # total: all of them
    "ResolvedRef": obj(["ref", "kind", "sha"], ref=string(), kind=string("branch", "remote_branch", "tag", "commit"),
                       sha=string(), remote=nullable(string()), branch=nullable(string())),
}

PATHS: dict[str, Schema] = {
    "/api/v1/repos/{name}/commits": {  # reads of the clone, asked of its worker: not jobs
        "get": op("List a ref's commits, newest first, as git log does", "read", {**ok("200", "A page of commits", obj(
            ["ref", "not", "commits", "next"], ref=ref("ResolvedRef"), **{"not": nullable(ref("ResolvedRef"))},
            commits=array(ref("Commit")), next=nullable(string(description="Give as after for the next page")))),
            **errors(404, 409, 422, 502)}, tag="branches", params=[NAME,
            query("ref", READ_REF, "What to list; default: the repo's default branch"),
            query("not", READ_REF, "Leave out commits of this ref: ref=main&not=origin/main is what main is ahead by"),
            query("limit", LIMIT, "At most this many"), query("after", SHA, "next of the page before")]),
    },
    "/api/v1/repos/{name}/compare/{spec}": {
        "parameters": [NAME, path_param("spec", "<base>...<head>, each a ref as for commits, e.g. origin/main...main")],
        "get": op("Compare two refs: ahead, behind, merge base", "read", {**ok("200", "The comparison", obj(
            ["base", "head", "merge_base", "ahead", "behind", "web_url"], base=ref("ResolvedRef"),
            head=ref("ResolvedRef"), merge_base=nullable(string()), ahead=ref("CompareSide"), behind=ref("CompareSide"),
            web_url=nullable(string(description="The same comparison on the forge")))),
            **errors(404, 409, 422, 502)}, tag="branches", params=[query("limit", LIMIT, "Commits listed per side")]),
    },
}
