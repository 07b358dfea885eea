"""The HTTP shape of each record: what the API answers (and a job's notification carries).

Only domain records go in, so the notifier (a worker) sends a job exactly as the API shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.domain.fetching import backing_off, backoff_reason, failing, next_attempt_at
from service.domain.forge import ForgeConfig
from service.domain.records import Backup, Job, Remote, Repo, Rule, Token
from service.domain.types import utcnow
from service.domain.validation import redact_url

View = dict[str, Any]
Provider = Callable[[str], str]  # a remote URL's provider (the icon key: github, gitlab, ..., other)
WebUrl = Callable[[str], str | None]  # a remote URL's page on its forge, if it is on one gitferry knows


def no_web_url(_url: str) -> str | None:
    return None


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_view(job: Job) -> View:
    error = {"code": job.error_code, "message": job.error_message or ""} if job.error_code else None
    return {
        "id": job.id,
        "repo": job.repo,
        "kind": job.kind,
        "state": job.state,
        "trigger": job.trigger,
        "started_by": job.started_by,
        "params": job.params,
        "result": job.result,
        "error": error,
        "progress": job.progress,
        "attempts": job.attempts,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def remote_view(remote: Remote, provider: Provider, web_url: WebUrl = no_web_url,
                now: datetime | None = None) -> View:
    """A remote, its page on its forge, and how fetching it goes: backing_off while scheduled
    fetches leave it alone."""
    error = {"code": remote.last_error_code, "message": remote.last_error_message or ""} \
        if remote.last_error_code else None
    backing = backing_off(remote, now or utcnow())
    return {"name": remote.name, "url": redact_url(remote.url), "provider": provider(remote.url),
            "web_url": web_url(remote.url),
            "last_attempt_at": iso(remote.last_attempt_at), "last_success_at": iso(remote.last_success_at),
            "last_error": error, "fetch_failures": remote.fetch_failures, "backing_off": backing,
            "next_attempt_at": iso(next_attempt_at(remote)) if backing else None,
            "backoff_reason": backoff_reason(remote) if backing else None}


def repo_view(repo: Repo, remotes: list[Remote], provider: Provider, *, pull_strategy: str,
              fetch_interval: int, admin: bool, web_url: WebUrl = no_web_url) -> View:
    """`pull_strategy` and `fetch_interval`: the defaults where the repo has none of its own. The
    notify_url only for `admin`: Slack- and Teams-style URLs carry their secret in the path."""
    now = utcnow()
    return {
        "name": repo.name,
        "url": redact_url(repo.url),
        "provider": provider(repo.url),
        "web_url": web_url(repo.url),
        "default_branch": repo.default_branch,
        "pull_strategy": repo.pull_strategy or pull_strategy,
        "fetch_interval": fetch_interval if repo.fetch_interval is None else repo.fetch_interval,
        "protected_branches": repo.protected_branches,
        "state": repo.state,
        "error": repo.error,
        "last_fetch_at": iso(repo.last_fetch_at),
        "failing_remotes": [r.name for r in remotes if failing(r)],
        "notify_url": redact_url(repo.notify_url) if repo.notify_url and admin else None,
        "notify_secret_set": bool(repo.notify_secret),
        "remotes": [remote_view(r, provider, web_url, now) for r in remotes],
    }


def rule_view(rule: Rule) -> View:
    return {"name": rule.name, "remote": rule.remote, "branch": rule.branch, "local_branch": rule.local_branch,
            "strategy": rule.strategy, "push_to": rule.push_to, "allow_force": rule.allow_force}


def forge_view(forge: ForgeConfig, source: str, *, has_token: bool, has_webhook_secret: bool) -> View:
    """A forge without its secrets: only whether it has them."""
    return {"kind": forge.kind, "host": forge.host, "api_url": forge.api_url, "git_protocol": forge.git_protocol,
            "username": forge.username, "has_token": has_token, "has_webhook_secret": has_webhook_secret,
            "source": source}


def token_view(token: Token) -> View:
    return {"name": token.name, "scope": token.scope, "created_at": iso(token.created_at)}


def backup_view(backup: Backup) -> View:
    """A backup: the branch (of `remote`, or local when remote is None) and the tip it kept."""
    return {"id": backup.id, "branch": backup.branch, "remote": backup.remote,
            "where": "local" if backup.remote is None else "remote", "sha": backup.sha,
            "replaced_by": backup.replaced_by, "ref": backup.ref, "job": backup.job_id,
            "created_at": iso(backup.created_at)}
