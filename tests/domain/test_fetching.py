"""When scheduled fetches of a failing remote back off, and for how long."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from service.domain.fetching import BACKOFF_FIRST, BACKOFF_MAX, backing_off, backoff_reason, next_attempt_at
from service.domain.records import Remote
from service.domain.types import utcnow

AT = utcnow()
REMOTE = Remote(1, 1, "fork", "https://example.com/fork.git", None, last_attempt_at=AT,
                last_error_code="auth", last_error_message="authentication with the remote failed")


def test_a_permanent_error_backs_off_from_its_second_time_doubling_up_to_the_cap() -> None:
    waits = [next_attempt_at(replace(REMOTE, fetch_failures=n)) for n in (1, 2, 3, 4, 40)]
    assert waits == [None, AT + BACKOFF_FIRST, AT + 2 * BACKOFF_FIRST, AT + 4 * BACKOFF_FIRST, AT + BACKOFF_MAX]
    twice = replace(REMOTE, fetch_failures=2)
    assert backing_off(twice, AT + BACKOFF_FIRST - timedelta(seconds=1))
    assert not backing_off(twice, AT + BACKOFF_FIRST)
    assert backoff_reason(twice) == ("2 fetches in a row failed (auth: authentication with the remote failed); "
                                     "scheduled fetches wait, an explicit fetch tries at once")


def test_errors_that_pass_by_themselves_and_successes_never_back_off() -> None:
    for code in ("network", "timeout", "job_timeout", "git", None):
        remote = replace(REMOTE, fetch_failures=9, last_error_code=code)
        assert next_attempt_at(remote) is None and not backing_off(remote, AT) and backoff_reason(remote) is None
