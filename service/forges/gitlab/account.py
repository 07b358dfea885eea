"""Who a GitLab token is: GET /api/v4/user through python-gitlab (`auth()`, then `user`)."""

from __future__ import annotations

from service.domain.forge import ForgeConfig
from service.forges.gitlab.forks import NAME, client
from service.forges.http import ForgeUnavailable


def account(forge: ForgeConfig) -> str:
    """The username of the user (or project/group bot) the token belongs to."""
    with client(forge) as gl:
        gl.auth()
        username = getattr(gl.user, "username", None) if gl.user is not None else None
    if not isinstance(username, str) or not username:
        raise ForgeUnavailable(f"{NAME} did not say whose token this is")
    return username
