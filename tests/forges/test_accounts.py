"""Testing a forge's token through each forge's own "who am I" endpoint, against the fake forges."""

from __future__ import annotations

from dataclasses import replace

from service import outbound
from service.forges.accounts import HOST_REFUSED, NO_TOKEN, OK, TOKEN_REFUSED, UNREACHABLE, check_token
from tests.forges.conftest import TOKEN, Setup
from tests.support.fake_forges import ACCOUNT


def test_a_good_token_is_named_by_the_account_it_belongs_to(setup: Setup) -> None:
    tested = check_token(setup.forge)
    assert (tested.ok, tested.outcome, tested.account) == (True, OK, ACCOUNT), tested
    assert TOKEN not in str(tested.to_dict())


def test_a_bad_token_is_refused_and_not_repeated(setup: Setup) -> None:
    wrong = "wrong-t0ken-0123456789"
    tested = check_token(replace(setup.forge, token=wrong))
    assert (tested.ok, tested.outcome, tested.account) == (False, TOKEN_REFUSED, ""), tested
    assert "refused the token" in tested.message
    assert wrong not in str(tested.to_dict()) and TOKEN not in str(tested.to_dict())


def test_a_forge_that_quotes_the_token_back_does_not_get_it_shown(setup: Setup) -> None:
    setup.fake.fail(401, body={"message": f"token {TOKEN} is revoked",
                               "error": {"message": f"token {TOKEN} is revoked"},
                               "errors": [{"message": f"token {TOKEN} is revoked"}]})
    tested = check_token(setup.forge)
    assert tested.outcome == TOKEN_REFUSED and TOKEN not in str(tested.to_dict())


def test_a_local_forge_is_not_connected_to_unless_local_remotes_are_allowed(setup: Setup) -> None:
    count = len(setup.fake.api_requests)
    with outbound.local_hosts(False):
        tested = check_token(setup.forge)
    assert (tested.ok, tested.outcome) == (False, HOST_REFUSED), tested
    assert "local or private" in tested.message and len(setup.fake.api_requests) == count


def test_an_unreachable_forge_and_a_missing_token(setup: Setup) -> None:
    port = setup.fake.netloc.rpartition(":")[2]
    setup.fake.stop()
    gone = check_token(setup.forge)
    assert (gone.ok, gone.outcome) == (False, UNREACHABLE), gone
    assert port not in gone.message or "unreachable" in gone.message
    none = check_token(replace(setup.forge, token=""))
    assert (none.ok, none.outcome) == (False, NO_TOKEN)
