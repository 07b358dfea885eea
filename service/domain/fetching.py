"""How fetching a remote goes over time: failing, and when scheduled fetches back off."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.domain.records import Remote

# Errors that trying again a minute later will not mend: the remote refuses our credential, or
# the repository is not (or no longer) there. Network errors and timeouts pass by themselves.
PERMANENT_ERRORS = frozenset({"auth", "not_found"})
# From the second failure in a row with a permanent error, scheduled fetches of the remote wait
# BACKOFF_FIRST, then twice as long after each further failure, at most BACKOFF_MAX. One failure
# alone (a credential being rotated) is tried again at the next interval.
BACKOFF_AFTER = 2
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)


def failing(remote: Remote) -> bool:
    """The remote's last fetch failed."""
    return remote.last_error_code is not None


def next_attempt_at(remote: Remote) -> datetime | None:
    """The earliest a scheduled fetch tries the remote again; None unless it is backed off.
    An explicit fetch (API, webhook) always tries."""
    if remote.last_error_code not in PERMANENT_ERRORS or remote.last_attempt_at is None:
        return None
    if remote.fetch_failures < BACKOFF_AFTER:
        return None
    doublings = min(remote.fetch_failures - BACKOFF_AFTER, 12)  # past 12 the cap holds anyway
    wait: timedelta = min(BACKOFF_FIRST * (1 << doublings), BACKOFF_MAX)
    return remote.last_attempt_at + wait


def backing_off(remote: Remote, now: datetime) -> bool:
    """Scheduled fetches leave the remote alone until next_attempt_at()."""
    at = next_attempt_at(remote)
    return at is not None and now < at


def backoff_reason(remote: Remote) -> str | None:
    """Why scheduled fetches of the remote back off, in a sentence; None if they do not."""
    if next_attempt_at(remote) is None:
        return None
    return (f"{remote.fetch_failures} fetches in a row failed ({remote.last_error_code}: "
            f"{remote.last_error_message or ''}); scheduled fetches wait, an explicit fetch tries at once")
