"""Who a GitLab token is: GET /api/v4/user through python-gitlab (`auth()`, then `user`)."""

from __future__ import annotations

import gitlab
import requests

from service.domain.forge import ForgeConfig
from service.forges.gitlab.forks import NAME
from service.forges.http import TIMEOUT, ForgeUnavailable, error_for, new_session, unreachable


def account(forge: ForgeConfig) -> str:
    """The username of the user (or project/group bot) the token belongs to."""
    session = new_session()
    seen: list[requests.Response] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    gl = gitlab.Gitlab(forge.api_url, private_token=forge.token, timeout=TIMEOUT, session=session,
                       retry_transient_errors=False, user_agent="gitferry")
    try:
        gl.auth()
        username = getattr(gl.user, "username", None) if gl.user is not None else None
        if not isinstance(username, str) or not username:
            raise ForgeUnavailable(f"{NAME} did not say whose token this is")
        return username
    except gitlab.GitlabError as exc:
        headers = seen[-1].headers if seen else {}
        raise error_for(exc.response_code or 502, headers, str(exc.error_message), NAME) from None
    except requests.RequestException as exc:
        raise unreachable(NAME, exc) from None
    finally:
        session.close()
