"""Job notifications: POST each finished job to its repo's notify_url, signed, retried with back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import requests

from service import outbound
from service.domain.validation import url_origin
from service.store import SecretKeyMissing
from service.web.views import job_view
from workers.tasks.context import WorkerContext

log = logging.getLogger("gitferry.notify")
BACKOFF = (1, 2, 4, 8, 16)  # seconds before attempts 2..6; then the notification is failed


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(ctx: WorkerContext, notification_id: int) -> str:
    """One attempt; on failure the next is sent with a countdown (never a sleep). Returns the state."""
    store = ctx.store
    note = store.notifications.get(notification_id)
    if note is None or note.state != "pending":
        return "gone"
    job = store.jobs.get(note.job_id)
    repo = store.repos.get(job.repo_id) if job else None
    body = json.dumps(job_view(job) if job else {}).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "gitferry",
               "X-Gitferry-Event": "job", "X-Gitferry-Delivery": str(notification_id)}
    status, error = None, None
    try:
        secret = store.repos.notify_secret(repo) if repo else ""
        if secret:
            headers["X-Gitferry-Signature-256"] = signature(secret, body)
        with outbound.local_hosts(ctx.settings.allow_local_remotes), outbound.session() as session:
            response = session.post(note.url, data=body, headers=headers, timeout=10, allow_redirects=False)
        status = response.status_code
        if 200 <= status < 300:
            store.notifications.attempted(notification_id, "delivered", status, None)
            return "delivered"
        error = f"receiver answered {status}"
    except requests.RequestException as exc:
        refused = outbound.refusal(exc)
        error = f"not sent: {refused}" if refused else f"could not reach the receiver ({type(exc).__name__})"
    except SecretKeyMissing as exc:  # nothing was sent: unsigned it would be refused, or worse, trusted
        error = f"could not sign the notification: {exc}"
    attempt = note.attempts + 1
    state = "pending" if attempt <= len(BACKOFF) else "failed"
    store.notifications.attempted(notification_id, state, status, error)
    # Only scheme and host: Slack- and Teams-style URLs carry their secret in the path.
    log.info("notify_attempt notification=%s url=%s attempt=%d error=%s", notification_id,
             url_origin(note.url), attempt, error)
    if state == "pending":
        ctx.jobs.notify(notification_id, job.repo_id if job else 0, countdown=BACKOFF[attempt - 1])
    return state
