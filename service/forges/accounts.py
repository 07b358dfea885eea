"""Testing a forge's token: one answer for every forge, from the forge's own "who am I" endpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from service.domain.forge import ForgeConfig
from service.forges.http import (
    ForgeError,
    ForgeHostRefused,
    ForgeNotFound,
    ForgeRateLimited,
    ForgeTokenRefused,
    ForgeUnavailable,
)
from service.forges.registry import BY_KIND

# What a test can find, in the words the API and the page use.
OK, NO_TOKEN, TOKEN_REFUSED, HOST_REFUSED, UNREACHABLE, RATE_LIMITED, FAILED = (
    "ok", "no_token", "token_refused", "host_refused", "unreachable", "rate_limited", "failed")
OUTCOMES = (OK, NO_TOKEN, TOKEN_REFUSED, HOST_REFUSED, UNREACHABLE, RATE_LIMITED, FAILED)


@dataclass(frozen=True)
class TokenTest:
    """What the forge said of the token: `account` it belongs to when `ok`, else why not. Never the token."""

    host: str
    kind: str
    ok: bool
    outcome: str  # one of OUTCOMES
    account: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def check_token(forge: ForgeConfig) -> TokenTest:
    """Ask the forge whose `forge.token` is (call it inside outbound.local_hosts(...))."""
    if not forge.token:
        return TokenTest(forge.host, forge.kind, False, NO_TOKEN, message="no API token is set for this forge")
    try:
        name = BY_KIND[forge.kind].accounts.account(forge)
    except ForgeNotFound:
        return TokenTest(forge.host, forge.kind, False, FAILED,
                         message=f"{forge.api_url} answered 404: is that the forge's API URL?")
    except ForgeError as exc:
        return TokenTest(forge.host, forge.kind, False, _outcome(exc), message=_without(exc.message, forge.token))
    return TokenTest(forge.host, forge.kind, True, OK, account=_without(name, forge.token)[:200],
                     message="the forge accepted the token")


def _outcome(exc: ForgeError) -> str:
    if isinstance(exc, ForgeTokenRefused):
        return TOKEN_REFUSED
    if isinstance(exc, ForgeRateLimited):
        return RATE_LIMITED
    if isinstance(exc, ForgeHostRefused):
        return HOST_REFUSED
    if isinstance(exc, ForgeUnavailable):
        return UNREACHABLE
    return FAILED


def _without(text: str, token: str) -> str:
    """`text` with the token cut out: a forge's error message may quote what it was sent."""
    return text.replace(token, "[token]") if token else text
