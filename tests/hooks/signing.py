"""Build signed webhook deliveries the way each forge sends them (for tests)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

ZERO = "0" * 40


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_push(clone_url: str, full_name: str = "acme/widgets", ref: str = "refs/heads/main",
                before: str = "a" * 40, after: str = "b" * 40) -> dict[str, Any]:
    return {"ref": ref, "before": before, "after": after, "created": before == ZERO, "deleted": after == ZERO,
            "forced": False, "repository": {"full_name": full_name, "clone_url": clone_url,
                                             "html_url": clone_url.removesuffix(".git")}}


def github(payload: Any, secret: str, event: str = "push", delivery: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                  "X-Hub-Signature-256": "sha256=" + hmac_hex(secret, body), "Content-Type": "application/json"}


def gitlab(payload: Any, secret: str, event: str = "Push Hook", delivery: str | None = None) -> tuple[bytes, dict]:
    return json.dumps(payload).encode(), {"X-Gitlab-Event": event, "X-Gitlab-Token": secret,
                                          "Idempotency-Key": delivery or str(uuid.uuid4())}


def gitlab_push(http_url: str, full_name: str, ref: str = "refs/heads/main", after: str = "b" * 40) -> dict:
    return {"object_kind": "push", "ref": ref, "before": "a" * 40, "after": after,
            "project": {"path_with_namespace": full_name, "git_http_url": http_url, "web_url": http_url[:-4]},
            "repository": {"git_http_url": http_url}}


def bitbucket_cloud(payload: Any, secret: str, delivery: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"X-Event-Key": "repo:push", "X-Request-UUID": delivery or str(uuid.uuid4()),
                  "X-Hook-UUID": str(uuid.uuid4()), "X-Hub-Signature": "sha256=" + hmac_hex(secret, body)}


def bitbucket_cloud_push(full_name: str, branch: str = "main") -> dict:
    return {"push": {"changes": [{"old": {"type": "branch", "name": branch, "target": {"hash": "a" * 40}},
                                  "new": {"type": "branch", "name": branch, "target": {"hash": "b" * 40}},
                                  "created": False, "closed": False, "forced": False}]},
            "repository": {"full_name": full_name, "links": {"html": {"href": f"https://bitbucket.org/{full_name}"}}}}


def bitbucket_server(payload: Any, secret: str, delivery: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"X-Event-Key": "repo:refs_changed", "X-Request-Id": delivery or str(uuid.uuid4()),
                  "X-Hub-Signature": "sha256=" + hmac_hex(secret, body)}


def bitbucket_server_push(clone_url: str, key: str = "ACME", slug: str = "widgets") -> dict:
    return {"eventKey": "repo:refs_changed",
            "repository": {"slug": slug, "project": {"key": key},
                           "links": {"clone": [{"href": clone_url, "name": "http"}]}},
            "changes": [{"ref": {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"},
                         "refId": "refs/heads/main", "fromHash": "a" * 40, "toHash": "b" * 40, "type": "UPDATE"}]}


def gitea(payload: Any, secret: str, delivery: str | None = None, forgejo: bool = False) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    prefix = "X-Forgejo" if forgejo else "X-Gitea"
    return body, {f"{prefix}-Event": "push", f"{prefix}-Delivery": delivery or str(uuid.uuid4()),
                  f"{prefix}-Signature": hmac_hex(secret, body)}


def azure(payload: Any, secret: str) -> tuple[bytes, dict]:
    token = base64.b64encode(f"gitferry:{secret}".encode()).decode()
    return json.dumps(payload).encode(), {"Authorization": f"Basic {token}"}


def azure_push(remote_url: str, delivery: str | None = None) -> dict:
    return {"id": delivery or str(uuid.uuid4()), "eventType": "git.push",
            "resource": {"refUpdates": [{"name": "refs/heads/main", "oldObjectId": "a" * 40, "newObjectId": "b" * 40}],
                         "repository": {"name": "widgets", "remoteUrl": remote_url, "project": {"name": "acme"}}}}
