"""GitHub and GitHub Enterprise forks through PyGithub (every page, following the Link header)."""

from __future__ import annotations

import threading

import requests
from github import Auth, Github, GithubException
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester

from service.domain.forge import ForgeConfig
from service.forges.base import Fork
from service.forges.github import DRIVER
from service.forges.http import (
    TIMEOUT,
    EtagAdapter,
    ForgeError,
    ForgeUnavailable,
    error_for,
    repo_path,
    unreachable,
)

NAME = "GitHub"


def full_name(path: str, forge: ForgeConfig) -> str:
    """owner/repo from a remote URL's path."""
    segments = repo_path(path)
    return "/".join(segments[-2:]) if len(segments) >= 2 else ""


def list_forks(forge: ForgeConfig, name: str) -> list[Fork]:
    _install_etag_connections()
    # retry=None: PyGithub's default retry sleeps through rate limits, which we must never do.
    gh = Github(auth=Auth.Token(forge.token) if forge.token else None, base_url=forge.api_url,
                timeout=int(TIMEOUT), per_page=100, retry=None, seconds_between_requests=None,
                seconds_between_writes=None, user_agent="gitferry", lazy=True)
    try:
        return [_fork(repo) for repo in gh.get_repo(name).get_forks()]
    except GithubException as exc:
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else str(exc.data or "")
        raise error_for(exc.status, exc.headers or {}, message, NAME) from None
    except requests.RequestException as exc:
        raise unreachable(NAME, exc) from None
    except AssertionError:  # PyGithub's own check that a next page is on the same host
        raise ForgeUnavailable(f"{NAME} sent a link to a page elsewhere than its API") from None
    except ForgeError:
        raise
    finally:
        gh.close()


def _fork(repo) -> Fork:  # type: ignore[no-untyped-def]
    # Attributes, not raw_data: raw_data would fetch each fork again to "complete" it.
    return Fork(full_name=repo.full_name, owner=repo.owner.login, clone_url=repo.clone_url or "",
                ssh_url=repo.ssh_url or "", web_url=repo.html_url or "", provider=DRIVER.provider)


_installed = threading.Lock()
_done = False


def _install_etag_connections() -> None:
    """Give PyGithub's connections the ETag adapter; PyGithub offers only this class-level hook."""
    global _done
    with _installed:
        if not _done:
            Requester.injectConnectionClasses(_EtagHttp, _EtagHttps)
            _done = True


class _EtagHttps(HTTPSRequestsConnectionClass):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.session.trust_env = False
        self.adapter = EtagAdapter(max_retries=self.retry, pool_connections=self.pool_size,
                                   pool_maxsize=self.pool_size)
        self.session.mount("https://", self.adapter)


class _EtagHttp(HTTPRequestsConnectionClass):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.session.trust_env = False
        self.adapter = EtagAdapter(max_retries=self.retry, pool_connections=self.pool_size,
                                   pool_maxsize=self.pool_size)
        self.session.mount("http://", self.adapter)
