"""Who a GitHub token is: GET /user through PyGithub (`get_user()`)."""

from __future__ import annotations

import requests
from github import Auth, Github, GithubException

from service.domain.forge import ForgeConfig
from service.forges.github.forks import NAME, _install_etag_connections
from service.forges.http import TIMEOUT, error_for, unreachable


def account(forge: ForgeConfig) -> str:
    """The login of the user (or app bot) the token belongs to."""
    _install_etag_connections()  # connections through the checked adapter, as for fork lists
    gh = Github(auth=Auth.Token(forge.token), base_url=forge.api_url, timeout=int(TIMEOUT), retry=None,
                seconds_between_requests=None, seconds_between_writes=None, user_agent="gitferry")
    try:
        login: str = gh.get_user().login
        return login
    except GithubException as exc:
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else str(exc.data or "")
        raise error_for(exc.status, exc.headers or {}, message, NAME) from None
    except requests.RequestException as exc:
        raise unreachable(NAME, exc) from None
    finally:
        gh.close()
