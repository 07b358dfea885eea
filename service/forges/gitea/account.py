"""Who a Gitea or Forgejo token is: GET /api/v1/user."""

from __future__ import annotations

from service.domain.forge import ForgeConfig
from service.forges.gitea.forks import NAME
from service.forges.http import ForgeUnavailable, http_get, json_of, new_session


def account(forge: ForgeConfig) -> str:
    """The login of the user the token belongs to."""
    session = new_session()
    session.headers["Authorization"] = f"token {forge.token}"
    with session:
        user = json_of(http_get(session, f"{forge.api_url}/api/v1/user", NAME), NAME)
    login = user.get("login") if isinstance(user, dict) else None
    if not isinstance(login, str) or not login:
        raise ForgeUnavailable(f"{NAME} did not say whose token this is")
    return login
