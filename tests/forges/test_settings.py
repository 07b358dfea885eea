"""Forge-related settings: the secret key, git user names per forge."""

from __future__ import annotations

import pytest

from service.settings import SettingsError, load_settings, parse_forge


def test_secret_key_is_read_and_must_be_long_enough() -> None:
    assert load_settings({"GITFERRY_SECRET_KEY": "k" * 16}).secret_key == "k" * 16
    with pytest.raises(SettingsError, match="GITFERRY_SECRET_KEY"):
        load_settings({"GITFERRY_SECRET_KEY": "short"})
    assert "k" * 16 not in repr(load_settings({"GITFERRY_SECRET_KEY": "k" * 16}))


@pytest.mark.parametrize(("kind", "username"), [("github", "x-access-token"), ("gitlab", "oauth2"),
                                                ("bitbucket-cloud", "x-token-auth"), ("azure-devops", "pat"),
                                                ("gitea", "oauth2")])
def test_git_user_name_per_forge(kind: str, username: str) -> None:
    entry = {"kind": kind, "host": "forge.example", "api_url": "https://forge.example", "token": "t"}
    assert parse_forge(entry).git_username == username
    assert parse_forge({**entry, "username": "me"}).git_username == "me"


def test_bitbucket_server_token_needs_its_owner() -> None:
    entry = {"kind": "bitbucket-server", "host": "bb.example", "api_url": "https://bb.example", "token": "t"}
    with pytest.raises(SettingsError, match="username"):
        parse_forge(entry)
    assert parse_forge({**entry, "username": "alice"}).git_username == "alice"
