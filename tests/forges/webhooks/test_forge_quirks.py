"""What only one forge does: GitHub's test vector and ping, GitLab's signing token, Bitbucket's two
flavours on one endpoint, Forgejo's headers and Gitea's delete event, Azure DevOps' basic auth."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from service.forges.azure_devops.webhook import AzureDevOpsWebhook
from service.forges.base import ZERO_SHA, ForgeEvent, RefChange, WebhookError
from service.forges.bitbucket_cloud.webhook import BitbucketCloudWebhook
from service.forges.bitbucket_server.webhook import BitbucketServerWebhook
from service.forges.gitea.webhook import GiteaWebhook
from service.forges.github.webhook import GitHubWebhook
from service.forges.gitlab.webhook import GitLabWebhook
from service.forges.registry import drivers_for

from .support import NEW, SECRET, ZERO, basic, encode, headers, hex_hmac, payload

# --- GitHub -------------------------------------------------------------------------------------


def test_github_published_test_vector() -> None:
    hdrs = headers(X_Hub_Signature_256="sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    assert GitHubWebhook().verify(hdrs, b"Hello, World!", "It's a Secret to Everybody")
    assert not GitHubWebhook().verify(hdrs, b"Hello, World!", "It's a Secret to Everybody!")


@pytest.mark.parametrize("value", [
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",  # no sha256= prefix
    "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "sha256=",
    "sha256=ünïcode",
])
def test_github_malformed_signatures_fail_quietly(value: str) -> None:
    hdrs = headers(X_Hub_Signature_256=value)
    assert not GitHubWebhook().verify(hdrs, b"Hello, World!", "It's a Secret to Everybody")


def test_github_sha1_signature_alone_is_not_enough() -> None:
    body = b"{}"
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    hdrs = headers(X_Hub_Signature=sha1)
    assert not GitHubWebhook().has_credentials(hdrs)
    assert not GitHubWebhook().verify(hdrs, body, SECRET)


def test_github_ping_needs_only_the_delivery_id() -> None:
    hdrs = headers(X_GitHub_Event="ping", X_GitHub_Delivery="d-1")
    assert GitHubWebhook().parse(hdrs, payload("github", "ping")) == ForgeEvent(
        "github", "d-1", "ping", full_name="Codertocat/Hello-World",
        clone_urls=("https://github.com/Codertocat/Hello-World.git", "git@github.com:Codertocat/Hello-World.git"),
        web_url="https://github.com/Codertocat/Hello-World")
    assert GitHubWebhook().parse(hdrs, {"zen": "Keep it logically awesome."}) == ForgeEvent("github", "d-1", "ping")
    assert GitHubWebhook().parse(hdrs, {"repository": {"full_name": 7}}) == ForgeEvent("github", "d-1", "ping")


def test_github_without_event_header_is_a_400() -> None:
    with pytest.raises(WebhookError) as err:
        GitHubWebhook().parse(headers(X_GitHub_Delivery="d-1"), payload("github", "push"))
    assert (err.value.status, err.value.code) == (400, "no_event")


def test_github_headers_are_case_insensitive() -> None:
    raw = encode(payload("github", "push"))
    signature = "sha256=" + hex_hmac(SECRET, raw)
    hdrs = headers(x_github_event="push", x_github_delivery="d-1", x_hub_signature_256=signature)
    assert GitHubWebhook().verify(hdrs, raw, SECRET)
    assert GitHubWebhook().parse(hdrs, payload("github", "push")).delivery_id == "d-1"


# --- GitLab -------------------------------------------------------------------------------------

SIGNING_KEY = bytes(range(32))
SIGNING_TOKEN = "whsec_" + base64.b64encode(SIGNING_KEY).decode()
NOW = 1_700_000_000


def gitlab_signed(body: bytes, *, msg_id: str = "idem-1", at: int = NOW, key: bytes = SIGNING_KEY,
                  extra: str = "") -> dict[str, str]:
    digest = hmac.new(key, f"{msg_id}.{at}.".encode() + body, hashlib.sha256).digest()
    signature = (extra + " " if extra else "") + "v1," + base64.b64encode(digest).decode()
    return {"webhook_id": msg_id, "webhook_timestamp": str(at), "webhook_signature": signature}


def gitlab(clock: float = NOW) -> GitLabWebhook:
    return GitLabWebhook(clock=lambda: clock)


def test_gitlab_secret_token() -> None:
    assert gitlab().verify(headers(X_Gitlab_Token=SECRET), b"{}", SECRET)
    assert not gitlab().verify(headers(X_Gitlab_Token=SECRET + " "), b"{}", SECRET + "x")
    assert not gitlab().verify(headers(X_Gitlab_Token="ünï"), b"{}", SECRET)


def test_gitlab_signing_token() -> None:
    body = encode(payload("gitlab", "push"))
    hdrs = headers(X_Gitlab_Event="Push Hook", **gitlab_signed(body))
    assert gitlab().has_credentials(hdrs)
    assert gitlab().verify(hdrs, body, SIGNING_TOKEN)
    assert gitlab(NOW + 299).verify(hdrs, body, SIGNING_TOKEN)
    assert not gitlab().verify(hdrs, body + b" ", SIGNING_TOKEN)
    assert not gitlab().verify(hdrs, body, "whsec_" + base64.b64encode(bytes(32)).decode())
    assert not gitlab().verify(hdrs, body, SECRET)  # a plain token is no signing key


def test_gitlab_signing_token_accepts_any_listed_v1_signature() -> None:
    body = b'{"object_kind":"push"}'
    hdrs = headers(**gitlab_signed(body, extra="v1,AAAA v1a,bogus"))
    assert gitlab().verify(hdrs, body, SIGNING_TOKEN)


@pytest.mark.parametrize(("change", "why"), [
    ({"webhook_timestamp": str(NOW - 301)}, "too old"),
    ({"webhook_timestamp": str(NOW + 301)}, "from the future"),
    ({"webhook_timestamp": "yesterday"}, "not a number"),
    ({"webhook_id": "idem-2"}, "another message id"),
    ({"webhook_signature": "v2,abc"}, "unknown version"),
])
def test_gitlab_signing_token_rejects(change: dict[str, str], why: str) -> None:
    body = b'{"object_kind":"push"}'
    values = gitlab_signed(body)
    values.update(change)
    assert not gitlab().verify(headers(**values), body, SIGNING_TOKEN), why


def test_gitlab_delivery_id_prefers_idempotency_key() -> None:
    body = payload("gitlab", "push")
    both = headers(X_Gitlab_Event="Push Hook", Idempotency_Key="idem", X_Gitlab_Event_UUID="uuid")
    assert gitlab().parse(both, body).delivery_id == "idem"
    older = headers(X_Gitlab_Event="Push Hook", X_Gitlab_Event_UUID="uuid")  # before GitLab 17.4
    assert gitlab().parse(older, body).delivery_id == "uuid"


def test_gitlab_system_hook_push() -> None:
    body = payload("gitlab", "tag-push")
    event = gitlab().parse(headers(X_Gitlab_Event="System Hook", X_Gitlab_Event_UUID="u"), body)
    assert (event.kind, event.changes) == ("push", (RefChange("refs/tags/v1.0.0", ZERO, NEW),))
    hdrs = headers(X_Gitlab_Event="System Hook", X_Gitlab_Event_UUID="u")
    other = gitlab().parse(hdrs, {"event_name": "user_create"})
    assert other.kind == "System Hook" and other.changes == ()


# --- Bitbucket: Cloud and Server share /hooks/bitbucket ----------------------------------------

CLOUD = {"X_Event_Key": "repo:push", "X_Request_UUID": "r-1", "X_Hook_UUID": "{h-1}", "X_Attempt_Number": "1",
         "User_Agent": "Bitbucket-Webhooks/2.0"}
SERVER = {"X_Event_Key": "repo:refs_changed", "X_Request_Id": "r-2"}


@pytest.mark.parametrize(("values", "cloud", "server"), [
    (CLOUD, True, False),
    (SERVER, False, True),
    ({"X_Event_Key": "diagnostics:ping", "X_Request_Id": "r-3"}, False, True),
    ({"X_Event_Key": "repo:push", "X_Hook_UUID": "{h-1}"}, True, False),
    ({"X_Event_Key": "repo:push", "X_Request_UUID": "r-1", "X_Request_Id": "edge-proxy"}, True, False),
    ({"Content_Type": "application/json"}, False, False),
])
def test_bitbucket_cloud_and_server_are_told_apart(values: dict[str, str], cloud: bool, server: bool) -> None:
    hdrs = headers(**values)
    assert BitbucketCloudWebhook().accepts(hdrs) is cloud
    assert BitbucketServerWebhook().accepts(hdrs) is server


def test_bitbucket_endpoint_picks_the_right_driver() -> None:
    picked = [next(d for d in drivers_for("bitbucket") if d.accepts(headers(**h))).forge for h in (CLOUD, SERVER)]
    assert picked == ["bitbucket-cloud", "bitbucket-server"]


def test_bitbucket_server_ping() -> None:
    hdrs = headers(X_Event_Key="diagnostics:ping", X_Request_Id="r-3")
    assert BitbucketServerWebhook().parse(hdrs, payload("bitbucket-server", "diagnostics-ping")) == ForgeEvent(
        "bitbucket-server", "r-3", "ping")


def test_bitbucket_server_several_refs_in_one_push() -> None:
    body = payload("bitbucket-server", "repo-refs-changed")
    body["changes"] += payload("bitbucket-server", "repo-refs-changed-tag-added")["changes"]
    event = BitbucketServerWebhook().parse(headers(**SERVER), body)
    assert [c.ref for c in event.changes] == ["refs/heads/main", "refs/tags/v1.0.0"]


def test_bitbucket_cloud_branch_created() -> None:
    body = payload("bitbucket-cloud", "repo-push")
    body["push"]["changes"][0].update(old=None, created=True, forced=False)
    event = BitbucketCloudWebhook().parse(headers(**CLOUD), body)
    assert event.changes == (RefChange("refs/heads/main", ZERO, NEW),)
    assert event.changes[0].created


# --- Gitea and Forgejo --------------------------------------------------------------------------


def test_forgejo_headers() -> None:
    raw = encode(payload("gitea", "push"))
    hdrs = headers(X_Forgejo_Event="push", X_Forgejo_Delivery="fj-1", X_Forgejo_Signature=hex_hmac(SECRET, raw))
    assert GiteaWebhook().accepts(hdrs) and GiteaWebhook().has_credentials(hdrs)
    assert GiteaWebhook().verify(hdrs, raw, SECRET)
    event = GiteaWebhook().parse(hdrs, payload("gitea", "push"))
    assert (event.forge, event.delivery_id, event.kind) == ("gitea", "fj-1", "push")


def test_gitea_github_style_signature_alone() -> None:
    raw = encode(payload("gitea", "push"))
    hdrs = headers(X_Hub_Signature_256="sha256=" + hex_hmac(SECRET, raw))
    assert GiteaWebhook().has_credentials(hdrs)
    assert GiteaWebhook().verify(hdrs, raw, SECRET)
    assert not GiteaWebhook().verify(headers(X_Gitea_Signature="sha256=" + hex_hmac(SECRET, raw)), raw, SECRET)


def test_gitea_tag_deletion_is_a_push_and_its_delete_event_is_not() -> None:
    hdrs = headers(X_Gitea_Event="push", X_Gitea_Delivery="g-1")
    event = GiteaWebhook().parse(hdrs, payload("gitea", "push-tag-deleted"))
    assert event.changes == (RefChange("refs/tags/v1.0.0", NEW, ZERO_SHA),)
    tag_delete = {"ref": "v1.0.0", "ref_type": "tag", "repository": payload("gitea", "push")["repository"]}
    assert GiteaWebhook().parse(headers(X_Gitea_Event="delete", X_Gitea_Delivery="g-2"), tag_delete).kind == "delete"


def test_gitea_create_event_is_left_to_its_push() -> None:
    hdrs = headers(X_Gitea_Event="create", X_Gitea_Delivery="g-3")
    event = GiteaWebhook().parse(hdrs, payload("gitea", "create-branch"))
    assert event == ForgeEvent("gitea", "g-3", "create")


# --- Azure DevOps -------------------------------------------------------------------------------


@pytest.mark.parametrize(("authorization", "ok"), [
    (basic("gitferry", SECRET), True),
    (basic("", SECRET), True),  # any user name, even none
    (basic("someone", SECRET + ":with-colon"), False),
    ("basic " + base64.b64encode(f"u:{SECRET}".encode()).decode(), True),
    (basic("gitferry", "wrong"), False),
    (basic(SECRET, ""), False),  # the secret as user name is not the password
    ("Bearer " + SECRET, False),
    ("Basic not-base64!", False),
    ("Basic " + base64.b64encode(SECRET.encode()).decode(), False),  # no colon
])
def test_azure_devops_basic_auth(authorization: str, ok: bool) -> None:
    assert AzureDevOpsWebhook().verify(headers(Authorization=authorization), b"{}", SECRET) is ok


def test_azure_devops_password_with_colon() -> None:
    assert AzureDevOpsWebhook().verify(headers(Authorization=basic("u", "a:b")), b"{}", "a:b")


def test_azure_devops_several_refs_and_ssh_url() -> None:
    body = payload("azure-devops", "git-push")
    body["resource"]["refUpdates"].append({"name": "refs/tags/v2", "oldObjectId": ZERO, "newObjectId": NEW})
    body["resource"]["repository"]["sshUrl"] = "git@ssh.dev.azure.com:v3/fabrikam/Fabrikam/Fabrikam-Fiber-Git"
    body["resource"]["repository"]["webUrl"] = "https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam-Fiber-Git"
    event = AzureDevOpsWebhook().parse(headers(), body)
    assert [c.ref for c in event.changes] == ["refs/heads/main", "refs/tags/v2"]
    assert event.clone_urls[1] == "git@ssh.dev.azure.com:v3/fabrikam/Fabrikam/Fabrikam-Fiber-Git"


# --- the endpoint table -------------------------------------------------------------------------


def test_drivers_for_each_endpoint() -> None:
    endpoints = ("github", "gitlab", "bitbucket", "gitea", "azure-devops")
    assert {e: [d.forge for d in drivers_for(e)] for e in endpoints} == {
        "github": ["github"], "gitlab": ["gitlab"], "bitbucket": ["bitbucket-server", "bitbucket-cloud"],
        "gitea": ["gitea"], "azure-devops": ["azure-devops"],
    }
    assert drivers_for("gogs") == []
