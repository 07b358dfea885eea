"""Who a Bitbucket Cloud token is: GET /2.0/user through atlassian-python-api."""

from __future__ import annotations

from atlassian.bitbucket import Cloud

from service.domain.forge import ForgeConfig
from service.forges.bitbucket_cloud.forks import NAME
from service.forges.http import TIMEOUT, ForgeUnavailable, new_session, requests_errors


def account(forge: ForgeConfig) -> str:
    """The user name (else nickname, else display name) of the account the token belongs to."""
    session = new_session()
    auth = {"username": forge.username, "password": forge.token} if forge.username else {"token": forge.token}
    cloud = Cloud(url=forge.api_url, session=session, timeout=TIMEOUT, backoff_and_retry=False,
                  retry_with_header=False, **auth)
    with session, requests_errors(NAME):
        user = cloud.get("user")
    names = [user.get(k) for k in ("username", "nickname", "display_name")] if isinstance(user, dict) else []
    name = next((n for n in names if isinstance(n, str) and n), None)
    if name is None:
        raise ForgeUnavailable(f"{NAME} did not say whose token this is")
    return name
