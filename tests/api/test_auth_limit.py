"""Wrong tokens are limited per client address: past the limit the address gets 429 with
Retry-After, whatever token it sends, until its window ends; other addresses are not touched."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.settings import Settings
from service.web import create_app
from tests.api.test_bad_input import assert_json_error
from tests.support.live import ADMIN

LIMIT, WINDOW = 5, 1
Call = Callable[..., TestResponse]


def limited_client(settings: Settings, **changes: object) -> Call:
    app = create_app(settings.with_(auth_failures=LIMIT, auth_window=WINDOW, **changes))
    client: FlaskClient = app.test_client()

    def call(token: str, address: str, **headers: str) -> TestResponse:
        return client.get("/api/v1/repos", headers={"Authorization": f"Bearer {token}", **headers},
                          environ_base={"REMOTE_ADDR": address})

    return call


def test_wrong_tokens_get_429_past_the_limit_until_the_window_ends(settings: Settings) -> None:
    call = limited_client(settings)
    for _ in range(LIMIT):
        assert_json_error(call("wrong", "10.0.0.1"), 401, "unauthorized")
    refused = call("wrong", "10.0.0.1")
    assert_json_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
    # A right token from that address is refused too, without being looked at: answering it
    # otherwise than a wrong one would tell a guesser when it guessed right.
    assert_json_error(call(ADMIN, "10.0.0.1"), 429, "rate_limited")
    # Another address is not touched; X-Forwarded-For is not believed without a setting.
    assert call(ADMIN, "10.0.0.2").status_code == 200
    assert call("wrong", "10.0.0.2").status_code == 401
    assert call(ADMIN, "10.0.0.1", **{"X-Forwarded-For": "10.0.0.2"}).status_code == 429
    time.sleep(WINDOW + 0.1)
    assert call(ADMIN, "10.0.0.1").status_code == 200
    assert call("wrong", "10.0.0.1").status_code == 401  # a new window


def test_requests_without_a_token_are_not_counted(settings: Settings) -> None:
    call = limited_client(settings)
    for _ in range(3 * LIMIT):
        assert call("", "10.0.0.1").status_code == 401
    assert call(ADMIN, "10.0.0.1").status_code == 200


def test_behind_proxies_the_address_the_outermost_saw_is_counted(settings: Settings) -> None:
    call = limited_client(settings, proxy_hops=1)
    for _ in range(LIMIT):
        assert call("wrong", "192.168.0.9", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 401
    # What the client itself put in the header (left of what the proxy appended) does not count.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert call(ADMIN, "192.168.0.9", **forged).status_code == 429
    assert call(ADMIN, "192.168.0.9", **{"X-Forwarded-For": "203.0.113.8"}).status_code == 200
    assert call(ADMIN, "192.168.0.9").status_code == 200  # no header: the proxy's own address


@pytest.mark.parametrize("wrong, other, same", [
    ("2001:db8::1", "2001:db8:0:1::1", "2001:db8::ffff"),  # a host usually holds a whole /64
    ("::ffff:10.0.0.1", "10.0.0.2", "10.0.0.1"),  # IPv4 seen through an IPv6 socket
])
def test_addresses_that_are_one_client_are_counted_together(settings: Settings, wrong: str, other: str,
                                                            same: str) -> None:
    call = limited_client(settings)
    for _ in range(LIMIT):
        assert call("wrong", wrong).status_code == 401
    assert call(ADMIN, same).status_code == 429
    assert call(ADMIN, other).status_code == 200
