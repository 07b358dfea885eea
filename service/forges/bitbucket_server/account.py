"""Who a Bitbucket Server / Data Center token is: the X-AUSERNAME header of an authenticated answer,
asked through atlassian-python-api (the REST API has no "current user" resource)."""

from __future__ import annotations

from atlassian import Bitbucket

from service.domain.forge import ForgeConfig
from service.forges.bitbucket_server.forks import NAME
from service.forges.http import TIMEOUT, ForgeTokenRefused, new_session, requests_errors

WHO = "X-AUSERNAME"  # Bitbucket names the authenticated user in every answer; absent: anonymous


def account(forge: ForgeConfig) -> str:
    session = new_session()
    bitbucket = Bitbucket(url=forge.api_url, token=forge.token, session=session, timeout=TIMEOUT,
                          backoff_and_retry=False, retry_with_header=False)
    with session, requests_errors(NAME):
        response = bitbucket.get("rest/api/1.0/application-properties", advanced_mode=True)
        bitbucket.raise_for_status(response)
    name = str(response.headers.get(WHO, "")).strip()
    if not name:
        raise ForgeTokenRefused(f"{NAME} took the token for an anonymous user")
    return name
