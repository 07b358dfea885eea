"""Who an Azure DevOps PAT is: the authenticatedUser of the organization's connectionData."""

from __future__ import annotations

from typing import Any

from service.domain.forge import ForgeConfig
from service.forges.azure_devops.forks import NAME
from service.forges.http import ForgeTokenRefused, ForgeUnavailable, http_get, json_of, new_session

ANONYMOUS = "Anonymous"  # what connectionData names an unauthenticated caller


def account(forge: ForgeConfig) -> str:
    """The account (e-mail or domain name) of the user the PAT belongs to, else their display name."""
    session = new_session()
    session.auth = (forge.username, forge.token)  # a PAT goes as the basic-auth password
    with session:
        response = http_get(session, f"{forge.api_url}/_apis/connectionData", NAME)
        if response.status_code == 203:  # a sign-in page: what Azure DevOps answers a PAT it refuses
            raise ForgeTokenRefused(f"{NAME} refused the token: it answered with its sign-in page")
        data = json_of(response, NAME)
    user: Any = data.get("authenticatedUser") if isinstance(data, dict) else None
    if not isinstance(user, dict):
        raise ForgeUnavailable(f"{NAME} did not say whose token this is")
    account = (user.get("properties") or {}).get("Account") or {}
    name = account.get("$value") if isinstance(account, dict) else None
    display = user.get("providerDisplayName")
    if display == ANONYMOUS and not name:
        raise ForgeTokenRefused(f"{NAME} took the token for an anonymous user")
    found = next((n for n in (name, display) if isinstance(n, str) and n), None)
    if found is None:
        raise ForgeUnavailable(f"{NAME} did not say whose token this is")
    return found
