"""A job's `result`, one named schema per kind, and the `Job` that refers to them by its kind.

Each is what the kind's op in workers/tasks/ops.py returns (with the git engine's records of
workers/git/models.py); tests/api/test_job_results.py runs real jobs of every kind and checks
each finished job's result against its kind's schema.
"""

from __future__ import annotations

from service.domain.types import JobKind, JobState, Trigger
from service.web.openapi_builders import BOOL, TIME, Schema, array, integer, nullable, obj, ref, string

SHA = string(pattern="^[0-9a-f]{40}([0-9a-f]{24})?$", description="A commit id")


def exactly(schema: Schema, description: str) -> Schema:
    """An object with no fields besides the ones named."""
    return {**schema, "additionalProperties": False, "description": description}


COMMIT_SUMMARY = obj(["sha", "subject"], sha=SHA, subject=string(description="The first line of its message"))
PULLED = exactly(obj(
    ["outcome", "before", "after", "conflicts"],
    outcome=string("up-to-date", "fast-forwarded", "merged", "rebased", "diverged", "conflict",
                   description="As plain `git pull` with the strategy would end (in a dry run, how it would end); "
                               "diverged: ff-only could not fast-forward; conflict: merge or rebase stopped, "
                               "nothing changed"),
    before={**SHA, "description": "The branch's commit before (all zeros if the branch was created)"},
    after={**SHA, "description": "The branch's commit after (before, when nothing changed or in a dry run)"},
    conflicts=array(string(description="A conflicting path as git names it (a path moved aside by a "
                                       "file/directory or type conflict as `path~HEAD` or `path~<label>`)")),
    conflict_commit={**COMMIT_SUMMARY, "description": "Only on a rebase conflict: the commit that could not be "
                                                      "applied"},
    dry_run={**BOOL, "description": "Only in a dry run (true): nothing was changed"},
    incoming={**array(COMMIT_SUMMARY), "description": "Only in a dry run: the commits that would arrive, newest "
                                                      "first (at most 100)"},
    incoming_count=integer(minimum=0, description="Only in a dry run: how many commits would arrive")),
    "A local branch brought up to its remote branch")

COMMITS = array(ref("Commit"))
PUSHED_FIELDS: dict[str, Schema] = dict(
    outcome=string("pushed", "created", "up-to-date", "rejected", "fast-forward", "create", "force",
                   description="fast-forward, create and force: what a dry run would do"),
    remote=string(), remote_branch=string(),
    before=nullable({**SHA, "description": "The remote branch's commit, as fetched just before the push; null "
                                           "when it was created"}),
    after={**SHA, "description": "The local branch's commit that was pushed"},
    reason=string(description="Only when rejected: protected, non-fast-forward, stale, or git's own reason"),
    force_available={**BOOL, "description": "Only when rejected: whether force (an admin token) would push"},
    backup_ref=string(description="Only after a forced push overwrote commits: where they are kept"),
    discarded={**COMMITS, "description": "The remote's commits a force overwrites (or would): newest first, at "
                                         "most 100"},
    arriving={**COMMITS, "description": "Dry runs: the commits the remote would get, newest first, at most 100"},
    dry_run={**BOOL, "description": "Only for a dry run: nothing was pushed"},
    message=string(description="What a person should know, e.g. the remote's tip when `expect` no longer matches"))
PUSHED_REQUIRED = ["outcome", "remote", "remote_branch", "before", "after"]
PUSHED = exactly(obj(PUSHED_REQUIRED, **PUSHED_FIELDS), "A branch pushed to a remote")
RESTORED = {"oneOf": [
    exactly(obj([*PUSHED_REQUIRED, "backup_id"], backup_id=integer(), **PUSHED_FIELDS),
            "A remote branch's backup, pushed back"),
    exactly(obj(["backup_id", "outcome", "branch", "before", "after"], backup_id=integer(),
                outcome=string("reset", "up-to-date", "rejected"), branch=string(), before=nullable(SHA), after=SHA,
                reason=string("stale"), backup_ref=string(), discarded=COMMITS, message=string()),
            "A local branch's backup, reset back to"),
]}

MOVED_REF = exactly(obj(
    ["ref", "old", "new"], ref=string(description="A ref as named on the remote, e.g. refs/heads/main"),
    old=nullable({**SHA, "description": "Its sha before; null for a ref the fetch created"}),
    new={**SHA, "description": "Its sha after (a tag's may be a tag object's)"}), "A ref a fetch created or moved")
PRUNED_REF = exactly(obj(["ref", "old"], ref=string(), old={**SHA, "description": "Its last sha"}),
                     "A ref the remote no longer has (pruned)")

FETCHED_REMOTE: Schema = {"oneOf": [
    exactly(obj(["updated", "deleted", "default_branch"], updated=array(ref("MovedRef")),
                deleted=array(ref("PrunedRef")),
                default_branch=nullable(string(description="The branch the remote's HEAD points at, followed as "
                                                           "`git remote set-head <remote> --auto` does; null while "
                                                           "the remote has no branches"))),
            "The refs this remote's fetch changed"),
    exactly(obj(["error"], error=ref("ErrorDetail")), "This remote's fetch failed (and so did the job)"),
]}

FETCHED = exactly(obj(["remotes"], remotes={
    "type": "object", "additionalProperties": ref("RemoteFetch"),
    "description": "By remote name: each remote fetched (a scheduled fetch leaves out its params' `skip`: "
                   "remotes backing off)"}), "Remotes fetched")

BRANCH_SHOWN = exactly(obj(["branch"], branch=ref("Branch")), "The branch afterwards")

RESULTS: dict[str, Schema] = {
    JobKind.CLONE: exactly(obj(["default_branch", "url"], default_branch=nullable(string()),
                               url=string(description="origin's URL, credentials hidden")), "The clone made"),
    JobKind.FETCH: FETCHED,
    JobKind.PULL: PULLED,
    JobKind.PUSH: PUSHED,
    JobKind.SYNC: exactly(obj(["pull", "push"], pull=ref("PullResult"), push=nullable({
        **ref("PushResult"), "description": "null when the rule pushes nowhere, or the pull diverged or conflicted"})),
        "A sync rule's run: its local branch updated, then pushed on"),
    JobKind.BRANCH: BRANCH_SHOWN,
    JobKind.UPSTREAM: BRANCH_SHOWN,
    JobKind.REMOTE: exactly(obj(["remotes"], remotes=array(string(description="A remote's name"))),
                            "The clone's remotes afterwards"),
    JobKind.REMOVE: exactly(obj(["removed"], removed=BOOL), "The clone was removed"),
    JobKind.RESTORE: RESTORED,
}


def result_schema(kind: str) -> str:
    """The name of a kind's result schema: `fetch` -> `FetchResult`."""
    return f"{kind.capitalize()}Result"


def job_result(kind: str) -> Schema:
    """What a job of this kind has as its result: its kind's, once done; null before. A fetch that
    failed has the remotes as far as they were fetched, and so has a pull whose fetch of its
    upstream's remote failed."""
    done = ref(result_schema(kind))
    if kind == JobKind.PULL:
        return {"oneOf": [done, ref("FetchResult"), {"type": "null"}],
                "description": "Set when done; when failed, null or what its fetch did (a FetchResult)"}
    if kind == JobKind.FETCH:
        return {"oneOf": [done, {"type": "null"}], "description": "Set when done; when failed, null or the "
                                                                  "remotes as far as they were fetched"}
    return {"oneOf": [done, {"type": "null"}], "description": "Set when the job is done"}


JOB_FIELDS = obj(
    ["id", "repo", "state", "trigger", "started_by", "params", "error", "progress", "created_at", "started_at",
     "finished_at"],
    id=integer(), repo=string(), state=string(*[s.value for s in JobState]),
    trigger=string(*[t.value for t in Trigger]),
    started_by={**nullable(string(maxLength=100)),
                "description": "The name of the API token whose request (or dashboard session) queued the job; "
                               "null for webhook, schedule and rule jobs"},
    params={"type": "object", "description": "What the job was asked to do, as the call that queued it said"},
    error=nullable(ref("ErrorDetail")),
    progress=nullable(obj(["phase", "percent"], phase=string(), percent=integer())),
    attempts=integer(), created_at=TIME, started_at=TIME, finished_at=TIME)


def job_of_kind(kind: JobKind) -> Schema:
    return {"allOf": [ref("JobFields"), obj(["kind", "result"], kind=string(kind.value), result=job_result(kind))],
            "description": f"A {kind.value} job"}


SCHEMAS: dict[str, Schema] = {
    "Job": {"type": "object", "description": "A job; its kind says what its result is",
            "oneOf": [ref(f"{kind.capitalize()}Job") for kind in JobKind],
            "discriminator": {"propertyName": "kind",
                              "mapping": {kind.value: f"#/components/schemas/{kind.capitalize()}Job"
                                          for kind in JobKind}}},
    "JobFields": {**JOB_FIELDS, "description": "What every job has besides its kind and result"},
    **{f"{kind.capitalize()}Job": job_of_kind(kind) for kind in JobKind},
    **{result_schema(kind): schema for kind, schema in RESULTS.items()},
    "RemoteFetch": FETCHED_REMOTE,
    "MovedRef": MOVED_REF,
    "PrunedRef": PRUNED_REF,
    "ErrorDetail": obj(["code", "message"], code=string(), message=string()),
}
