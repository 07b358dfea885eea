"""The same contract for every forge: signatures, pushes, deletions, tags, delivery ids, bad bodies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from service.forges.azure_devops.webhook import AzureDevOpsWebhook
from service.forges.base import ForgeEvent, RefChange, WebhookDriver, WebhookError
from service.forges.bitbucket_cloud.webhook import BitbucketCloudWebhook
from service.forges.bitbucket_server.webhook import BitbucketServerWebhook
from service.forges.gitea.webhook import GiteaWebhook
from service.forges.github.webhook import GitHubWebhook
from service.forges.gitlab.webhook import GitLabWebhook

from .support import NEW, OLD, SECRET, ZERO, basic, encode, hex_hmac, payload


@dataclass
class Forge:
    """One forge's fixtures and what its driver must make of them."""

    name: str  # folder under payloads/
    driver: WebhookDriver
    files: dict[str, tuple[str, str]]  # push / deleted / tag -> (fixture, event name)
    event_headers: Callable[[str], dict[str, str]]  # event name -> headers, delivery id included
    sign: Callable[[bytes, str], dict[str, str]]  # body, secret -> credential headers
    delivery_header: str | None  # None: the delivery id is in the body
    delivery: str
    full_name: str
    clone_urls: tuple[str, ...]
    web_url: str
    pushed: tuple[RefChange, ...]
    deleted: RefChange
    tag: RefChange
    signs_body: bool = True  # False: a token or password, which a changed body keeps valid
    repository_key: str = "repository"  # the object naming the repository in the body
    break_types: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)

    def delivery_headers(self, event: str, body: bytes, secret: str = SECRET) -> Headers:
        return Headers([*self.event_headers(event).items(), *self.sign(body, secret).items()])

    def load(self, kind: str) -> tuple[Any, bytes, Headers]:
        name, event = self.files[kind]
        body = payload(self.name, name)
        raw = encode(body)
        return body, raw, self.delivery_headers(event, raw)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutator putting `value` at a dotted path (list indexes as numbers)."""

    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


GITHUB = Forge(
    name="github",
    driver=GitHubWebhook(),
    files={"push": ("push", "push"), "deleted": ("push-branch-deleted", "push"), "tag": ("push-tag-created", "push")},
    event_headers=lambda event: {
        "X-GitHub-Event": event, "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Hook-ID": "292430182", "User-Agent": "GitHub-Hookshot/044aadd", "Content-Type": "application/json",
    },
    sign=lambda body, secret: {"X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body)},
    delivery_header="X-GitHub-Delivery",
    delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958",
    full_name="Codertocat/Hello-World",
    clone_urls=("https://github.com/Codertocat/Hello-World.git", "git@github.com:Codertocat/Hello-World.git"),
    web_url="https://github.com/Codertocat/Hello-World",
    pushed=(RefChange("refs/heads/main", OLD, NEW, forced=True),),
    deleted=RefChange("refs/heads/feature/wip", OLD, ZERO),
    tag=RefChange("refs/tags/v1.0.0", ZERO, NEW),
    break_types=[_set("ref", 42), _set("before", None), _set("after", "not-a-sha"), _set("forced", "yes"),
                 _set("ref", "main"), _set("repository.full_name", ["Codertocat", "Hello-World"])],
)

GITLAB = Forge(
    name="gitlab",
    driver=GitLabWebhook(),
    files={"push": ("push", "Push Hook"), "deleted": ("push-branch-deleted", "Push Hook"),
           "tag": ("tag-push", "Tag Push Hook")},
    event_headers=lambda event: {
        "X-Gitlab-Event": event, "Idempotency-Key": "f0b4c2e1-0b8e-4d32-9b0e-3c2d1a1e5f00",
        "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e", "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Webhook-UUID": "a9d2e1b0-5a35-4c6f-9d8e-0b1f2c3d4e5f", "User-Agent": "GitLab/17.5.0",
    },
    sign=lambda body, secret: {"X-Gitlab-Token": secret},
    delivery_header="Idempotency-Key",
    delivery="f0b4c2e1-0b8e-4d32-9b0e-3c2d1a1e5f00",
    full_name="mike/diaspora",
    clone_urls=("https://gitlab.example.com/mike/diaspora.git", "git@gitlab.example.com:mike/diaspora.git"),
    web_url="https://gitlab.example.com/mike/diaspora",
    pushed=(RefChange("refs/heads/main", OLD, NEW),),
    deleted=RefChange("refs/heads/feature/wip", OLD, ZERO),
    tag=RefChange("refs/tags/v1.0.0", ZERO, NEW),
    signs_body=False,
    repository_key="project",
    break_types=[_set("ref", None), _set("before", 1), _set("after", ""), _set("project", "mike/diaspora"),
                 _set("project.path_with_namespace", 15)],
)

BITBUCKET_CLOUD = Forge(
    name="bitbucket-cloud",
    driver=BitbucketCloudWebhook(),
    files={"push": ("repo-push", "repo:push"), "deleted": ("repo-push-branch-deleted", "repo:push"),
           "tag": ("repo-push-tag-created", "repo:push")},
    event_headers=lambda event: {
        "X-Event-Key": event, "X-Request-UUID": "a4b5e6c1-1234-4f1e-9a0b-7c8d9e0f1a2b",
        "X-Hook-UUID": "{3c2d1a1e-5f00-4d32-9b0e-f0b4c2e10b8e}", "X-Attempt-Number": "1",
        "User-Agent": "Bitbucket-Webhooks/2.0",
    },
    sign=lambda body, secret: {"X-Hub-Signature": "sha256=" + hex_hmac(secret, body)},
    delivery_header="X-Request-UUID",
    delivery="a4b5e6c1-1234-4f1e-9a0b-7c8d9e0f1a2b",
    full_name="team_name/repo_name",
    clone_urls=(),
    web_url="https://bitbucket.org/team_name/repo_name",
    pushed=(RefChange("refs/heads/main", OLD, NEW, forced=True),),
    deleted=RefChange("refs/heads/feature/wip", OLD, ZERO),
    tag=RefChange("refs/tags/v1.0.0", ZERO, NEW),
    break_types=[_set("push", []), _set("push.changes", {}), _set("push.changes.0", {"old": None, "new": None}),
                 _set("push.changes.0.new.type", "bookmark"),
                 _set("push.changes.0.new.target", "abc"), _set("push.changes.0.new.target.hash", 7),
                 _set("push.changes.0.forced", 1)],
)

BITBUCKET_SERVER = Forge(
    name="bitbucket-server",
    driver=BitbucketServerWebhook(),
    files={"push": ("repo-refs-changed", "repo:refs_changed"),
           "deleted": ("repo-refs-changed-branch-deleted", "repo:refs_changed"),
           "tag": ("repo-refs-changed-tag-added", "repo:refs_changed")},
    event_headers=lambda event: {"X-Event-Key": event, "X-Request-Id": "b1e2c3d4-5f60-4a1b-8c2d-3e4f5a6b7c8d"},
    sign=lambda body, secret: {"X-Hub-Signature": "sha256=" + hex_hmac(secret, body)},
    delivery_header="X-Request-Id",
    delivery="b1e2c3d4-5f60-4a1b-8c2d-3e4f5a6b7c8d",
    full_name="PRJ/webhook-test",
    clone_urls=("ssh://git@bitbucket.example.com:7999/prj/webhook-test.git",
                "https://bitbucket.example.com/scm/prj/webhook-test.git"),
    web_url="https://bitbucket.example.com/projects/PRJ/repos/webhook-test/browse",
    pushed=(RefChange("refs/heads/main", OLD, NEW),),
    deleted=RefChange("refs/heads/feature/wip", OLD, ZERO),
    tag=RefChange("refs/tags/v1.0.0", ZERO, NEW),
    break_types=[_set("changes", None), _set("changes.0", "refs/heads/main"), _set("changes.0.toHash", None),
                 _set("changes.0.refId", 5), _set("repository.project", None), _set("repository.slug", 4),
                 _set("repository.links", [])],
)

GITEA = Forge(
    name="gitea",
    driver=GiteaWebhook(),
    files={"push": ("push", "push"), "deleted": ("delete-branch", "delete"), "tag": ("push-tag-created", "push")},
    event_headers=lambda event: {
        "X-Gitea-Event": event, "X-Gitea-Event-Type": event, "X-Gitea-Delivery": "5b7f3c2a-9d1e-4f60-8a2b-c3d4e5f6a7b8",
        "X-Gogs-Event": event, "X-Gogs-Delivery": "5b7f3c2a-9d1e-4f60-8a2b-c3d4e5f6a7b8",
        "X-GitHub-Event": event, "X-GitHub-Delivery": "5b7f3c2a-9d1e-4f60-8a2b-c3d4e5f6a7b8",
    },
    sign=lambda body, secret: {"X-Gitea-Signature": hex_hmac(secret, body), "X-Gogs-Signature": hex_hmac(secret, body),
                               "X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body)},
    delivery_header="X-Gitea-Delivery",
    delivery="5b7f3c2a-9d1e-4f60-8a2b-c3d4e5f6a7b8",
    full_name="example/example",
    clone_urls=("https://gitea.example.com/example/example.git", "git@gitea.example.com:example/example.git"),
    web_url="https://gitea.example.com/example/example",
    pushed=(RefChange("refs/heads/main", OLD, NEW),),
    # Gitea's `delete` event names the branch but no commit.
    deleted=RefChange("refs/heads/feature/wip", ZERO, ZERO),
    tag=RefChange("refs/tags/v1.0.0", ZERO, NEW),
    break_types=[_set("ref", "main"), _set("before", 0), _set("after", None), _set("repository", "example/example"),
                 _set("repository.full_name", None)],
)

AZURE_DEVOPS = Forge(
    name="azure-devops",
    driver=AzureDevOpsWebhook(),
    files={"push": ("git-push", "git.push"), "deleted": ("git-push-branch-deleted", "git.push"),
           "tag": ("git-push-tag-created", "git.push")},
    event_headers=lambda event: {"Content-Type": "application/json; charset=utf-8"},
    sign=lambda body, secret: {"Authorization": basic("gitferry", secret)},
    delivery_header=None,
    delivery="03c164c2-8912-4d5e-8009-3707d5f83734",
    full_name="Fabrikam/Fabrikam-Fiber-Git",
    clone_urls=("https://fabrikam@dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam-Fiber-Git",),
    web_url="https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam-Fiber-Git",
    pushed=(RefChange("refs/heads/main", OLD, NEW),),
    deleted=RefChange("refs/heads/feature/wip", OLD, ZERO),
    tag=RefChange("refs/tags/v1.0.0", ZERO, NEW),
    signs_body=False,
    repository_key="resource",
    break_types=[_set("resource.refUpdates", None), _set("resource.refUpdates.0", 3),
                 _set("resource.refUpdates.0.newObjectId", "HEAD"), _set("resource.refUpdates.0.name", "main"),
                 _set("resource.repository.remoteUrl", None), _set("resource.repository.project", None),
                 _set("eventType", None)],
)

FORGES = [GITHUB, GITLAB, BITBUCKET_CLOUD, BITBUCKET_SERVER, GITEA, AZURE_DEVOPS]
each_forge = pytest.mark.parametrize("forge", FORGES, ids=[f.name for f in FORGES])


@each_forge
def test_a_good_signature_verifies(forge: Forge) -> None:
    _, raw, hdrs = forge.load("push")
    assert forge.driver.accepts(hdrs)
    assert forge.driver.has_credentials(hdrs)
    assert forge.driver.verify(hdrs, raw, SECRET)


@each_forge
def test_a_wrong_secret_or_a_changed_body_does_not(forge: Forge) -> None:
    _, raw, hdrs = forge.load("push")
    assert not forge.driver.verify(hdrs, raw, "another-secret")
    assert forge.driver.verify(hdrs, raw.replace(b"main", b"mian"), SECRET) is not forge.signs_body
    assert not forge.driver.verify(hdrs, raw, "")  # no secret configured never verifies


@each_forge
def test_a_missing_signature_is_no_credentials(forge: Forge) -> None:
    _body, raw, _ = forge.load("push")
    hdrs = forge.delivery_headers(forge.files["push"][1], raw)
    for name in forge.sign(raw, SECRET):
        hdrs.remove(name)
    assert not forge.driver.has_credentials(hdrs)
    assert not forge.driver.verify(hdrs, raw, SECRET)
    hdrs.update({name: "" for name in forge.sign(raw, SECRET)})  # present but blank
    assert not forge.driver.has_credentials(hdrs)


@each_forge
def test_a_branch_push(forge: Forge) -> None:
    body, _, hdrs = forge.load("push")
    assert forge.driver.parse(hdrs, body) == ForgeEvent(
        forge=forge.driver.forge, delivery_id=forge.delivery, kind="push", full_name=forge.full_name,
        clone_urls=forge.clone_urls, web_url=forge.web_url, changes=forge.pushed,
    )


@each_forge
def test_a_branch_deletion(forge: Forge) -> None:
    body, _, hdrs = forge.load("deleted")
    event = forge.driver.parse(hdrs, body)
    assert (event.kind, event.full_name, event.changes) == ("push", forge.full_name, (forge.deleted,))
    assert event.changes[0].deleted and event.changes[0].branch == "feature/wip"


@each_forge
def test_a_tag_push(forge: Forge) -> None:
    body, _, hdrs = forge.load("tag")
    event = forge.driver.parse(hdrs, body)
    assert (event.kind, event.full_name, event.changes) == ("push", forge.full_name, (forge.tag,))
    assert event.changes[0].is_tag and event.changes[0].created and not event.changes[0].deleted


@each_forge
def test_the_delivery_id_is_required_and_bounded(forge: Forge) -> None:
    body, _, hdrs = forge.load("push")
    if forge.delivery_header is None:
        del body["id"]
    else:
        for name in list(hdrs.keys()):
            if name.lower().endswith(("delivery", "-uuid", "-id", "idempotency-key")) and name != "X-GitHub-Hook-ID":
                hdrs.remove(name)
    with pytest.raises(WebhookError) as missing:
        forge.driver.parse(hdrs, body)
    assert (missing.value.status, missing.value.code) == (400, "no_delivery_id")

    body, _, hdrs = forge.load("push")
    if forge.delivery_header is None:
        body["id"] = "x" * 201
    else:
        hdrs.set(forge.delivery_header, "x" * 201)
    with pytest.raises(WebhookError) as too_long:
        forge.driver.parse(hdrs, body)
    assert (too_long.value.status, too_long.value.code) == (400, "bad_delivery_id")


@each_forge
def test_unknown_fields_are_ignored(forge: Forge) -> None:
    body, _, hdrs = forge.load("push")
    body["added_next_year"] = {"nested": [1, 2, 3]}
    body[forge.repository_key]["topics_v2"] = None
    assert forge.driver.parse(hdrs, body).changes == forge.pushed


@each_forge
@pytest.mark.parametrize("bad", [[], "a string", None, 42, {}], ids=["list", "string", "null", "number", "empty"])
def test_a_body_that_is_not_an_event_is_a_400(forge: Forge, bad: Any) -> None:
    _, _, hdrs = forge.load("push")
    with pytest.raises(WebhookError) as err:
        forge.driver.parse(hdrs, bad)
    assert err.value.status == 400
    assert err.value.code in {"bad_payload", "no_delivery_id"}  # Azure DevOps: the id is in the body


@each_forge
def test_a_body_without_its_repository_is_a_400(forge: Forge) -> None:
    body, _, hdrs = forge.load("push")
    del body[forge.repository_key]
    with pytest.raises(WebhookError) as err:
        forge.driver.parse(hdrs, body)
    assert (err.value.status, err.value.code) == (400, "bad_payload")
    assert forge.repository_key in err.value.message


@pytest.mark.parametrize(("forge", "mutate"), [(f, m) for f in FORGES for m in f.break_types],
                         ids=[f"{f.name}-{i}" for f in FORGES for i in range(len(f.break_types))])
def test_wrong_types_are_a_400_not_a_crash(forge: Forge, mutate: Callable[[dict[str, Any]], None]) -> None:
    body, _, hdrs = forge.load("push")
    mutate(body)
    with pytest.raises(WebhookError) as err:
        forge.driver.parse(hdrs, body)
    assert (err.value.status, err.value.code) == (400, "bad_payload")


OTHER_EVENTS = {"github": "fork", "gitlab": "Merge Request Hook", "bitbucket-cloud": "pullrequest:created",
                "bitbucket-server": "pr:opened", "gitea": "issues", "azure-devops": "git.pullrequest.created"}


@each_forge
def test_other_events_keep_their_name_and_need_no_body(forge: Forge) -> None:
    event = OTHER_EVENTS[forge.name]
    _, raw, hdrs = forge.load("push")
    hdrs = forge.delivery_headers(event, raw)
    body: Any = {"id": forge.delivery, "eventType": event} if forge.delivery_header is None else ["whatever"]
    assert forge.driver.parse(hdrs, body) == ForgeEvent(forge.driver.forge, forge.delivery, event)
