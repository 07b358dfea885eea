"""GitLab forks through python-gitlab (every page, following the Link header)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import gitlab
import requests

from service.domain.forge import ForgeConfig
from service.forges.base import Fork
from service.forges.gitlab import DRIVER
from service.forges.http import TIMEOUT, error_for, new_session, repo_path, unreachable

NAME = "GitLab"


def full_name(path: str, forge: ForgeConfig) -> str:
    """group/subgroup/project from a remote URL's path (GitLab nests groups)."""
    segments = repo_path(path, forge.api_url)
    return "/".join(segments) if len(segments) >= 2 else ""


@contextmanager
def client(forge: ForgeConfig) -> Iterator[gitlab.Gitlab]:
    """python-gitlab on gitferry's checked session; its failures raised as the forge errors of http.py."""
    session = new_session()
    seen: list[requests.Response] = []
    # python-gitlab's exceptions carry no headers; the last answer gives Retry-After.
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    try:
        yield gitlab.Gitlab(forge.api_url, private_token=forge.token or None, timeout=TIMEOUT, session=session,
                            per_page=100, retry_transient_errors=False, user_agent="gitferry")
    except gitlab.GitlabError as exc:
        headers = seen[-1].headers if seen else {}
        raise error_for(exc.response_code or 502, headers, str(exc.error_message), NAME) from None
    except requests.RequestException as exc:
        raise unreachable(NAME, exc) from None
    finally:
        session.close()


def list_forks(forge: ForgeConfig, name: str) -> list[Fork]:
    with client(forge) as gl:
        project = gl.projects.get(name, lazy=True)
        # obey_rate_limit=False: python-gitlab would otherwise sleep through a 429.
        forks = project.forks.list(get_all=True, obey_rate_limit=False, max_retries=0)
        return [_fork(f.attributes) for f in forks]


def _fork(raw: dict) -> Fork:  # type: ignore[type-arg]
    namespace = raw.get("namespace") or {}
    owner = namespace.get("full_path") or namespace.get("path") or (raw.get("owner") or {}).get("username", "")
    return Fork(full_name=raw["path_with_namespace"], owner=owner, clone_url=raw.get("http_url_to_repo") or "",
                ssh_url=raw.get("ssh_url_to_repo") or "", web_url=raw.get("web_url") or "", provider=DRIVER.provider)
