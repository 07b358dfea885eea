"""Each driver, through its real client library, against its fake forge: pages, ETag, errors."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from service.forges.forks import (
    ForgeNotFound,
    ForgeRateLimited,
    ForgeTokenRefused,
    ForgeUnavailable,
    ForkCache,
    list_forks,
    origin_full_name,
)
from service.settings import parse_forge
from tests.forges.conftest import Setup, start_fake
from tests.support.live import free_port

PROVIDERS = {"github": "github", "gitlab": "gitlab", "bitbucket-cloud": "bitbucket",
             "bitbucket-server": "bitbucket", "gitea": "gitea", "azure-devops": "azure-devops"}


def test_every_fork_on_every_page(setup: Setup) -> None:
    name = origin_full_name(setup.forge, setup.origin_url)
    assert name == setup.origin
    forks = list_forks(setup.forge, name)
    assert sorted(f.full_name for f in forks) == sorted(setup.forks)
    assert {f.provider for f in forks} == {PROVIDERS[setup.fake.kind]}
    fork_pages = [r for r in setup.fake.api_requests if "connectionData" not in r.path]
    assert len(fork_pages) == 3  # five forks, two a page
    for fork in forks:
        assert fork.clone_url == setup.fake.url_of(setup.fake.repos[fork.full_name])  # no user name in it
        assert fork.owner and fork.ssh_url and fork.web_url
    if setup.fake.kind == "bitbucket-server":
        assert forks[0].owner == "~ALICE" and forks[0].full_name == "~ALICE/widgets"


def test_a_second_listing_revalidates_with_etag(setup: Setup) -> None:
    first = list_forks(setup.forge, setup.origin)
    before = len(setup.fake.api_requests)
    assert list_forks(setup.forge, setup.origin) == first
    again = setup.fake.api_requests[before:]
    if setup.fake.etags:
        assert [r.status for r in again] == [304, 304, 304]
        assert all(r.if_none_match for r in again)
    else:
        assert all(r.status == 200 and r.if_none_match is None for r in again)


def test_a_new_fork_shows_after_revalidation(setup: Setup) -> None:
    list_forks(setup.forge, setup.origin)
    new = {"bitbucket-server": "~ZED/widgets", "azure-devops": "zed/widgets"}.get(setup.fake.kind, "zed/widgets")
    setup.fake.add_fork(setup.origin, new)
    assert new in {f.full_name for f in list_forks(setup.forge, setup.origin)}


def test_server_error_carries_the_forges_message(setup: Setup) -> None:
    setup.fake.fail(500, body={"message": "database on fire"})
    with pytest.raises(ForgeUnavailable) as caught:
        list_forks(setup.forge, setup.origin)
    assert "500" in caught.value.message
    if setup.fake.kind in ("github", "gitlab", "gitea"):
        assert "database on fire" in caught.value.message


def test_a_rejected_token_says_so(setup: Setup) -> None:
    forge = replace(setup.forge, token="wrong-token")
    with pytest.raises(ForgeTokenRefused) as caught:
        list_forks(forge, setup.origin)
    assert "refused the token" in caught.value.message
    assert "wrong-token" not in caught.value.message


def test_rate_limit_is_reported_with_its_wait_never_waited_out(setup: Setup) -> None:
    if setup.fake.kind == "github":
        setup.fake.rate_limited(42)  # type: ignore[attr-defined]
        expected = 42
    elif setup.fake.kind == "gitlab":
        setup.fake.rate_limited(30)  # type: ignore[attr-defined]
        expected = 30
    else:
        setup.fake.fail(429, {"Retry-After": "17"}, {"message": "slow down"})
        expected = 17
    started = time.monotonic()
    with pytest.raises(ForgeRateLimited) as caught:
        list_forks(setup.forge, setup.origin)
    assert time.monotonic() - started < 5
    assert expected - 2 <= caught.value.retry_after <= expected + 1


def test_github_secondary_rate_limit_uses_retry_after(tmp_path: Path) -> None:
    setup = start_fake("github", tmp_path)
    try:
        setup.fake.fail(429, {"Retry-After": "9"}, {"message": "You have exceeded a secondary rate limit"})
        with pytest.raises(ForgeRateLimited) as caught:
            list_forks(setup.forge, setup.origin)
        assert caught.value.retry_after == 9
    finally:
        setup.fake.stop()


def test_unknown_repository_is_not_found(setup: Setup) -> None:
    with pytest.raises((ForgeNotFound, ForgeUnavailable)):
        list_forks(setup.forge, "nobody/nothing")


def test_unreachable_forge(setup: Setup) -> None:
    port = free_port()
    entry = {**setup.entry, "api_url": setup.entry["api_url"].replace(setup.fake.netloc, f"127.0.0.1:{port}")}
    with pytest.raises(ForgeUnavailable) as caught:
        list_forks(parse_forge(entry), setup.origin)
    assert "unreachable" in caught.value.message


def test_cache_keeps_a_list_until_refresh(setup: Setup) -> None:
    cache = ForkCache(seconds=60)
    first = cache.forks(setup.forge, setup.origin)
    count = len(setup.fake.api_requests)
    assert cache.forks(setup.forge, setup.origin) == first
    assert len(setup.fake.api_requests) == count
    cache.forks(setup.forge, setup.origin, refresh=True)
    assert len(setup.fake.api_requests) > count


@pytest.mark.parametrize(("kind", "url", "expected"), [
    ("github", "https://github.com/acme/widgets.git", "acme/widgets"),
    ("github", "git@github.com:acme/widgets.git", "acme/widgets"),
    ("github", "ssh://git@github.com/acme/widgets", "acme/widgets"),
    ("gitlab", "https://gitlab.com/acme/tools/widgets.git", "acme/tools/widgets"),
    ("gitlab", "git@gitlab.com:acme/tools/widgets.git", "acme/tools/widgets"),
    ("bitbucket-cloud", "https://bitbucket.org/acme/widgets.git", "acme/widgets"),
    ("bitbucket-server", "https://bb.example.com/scm/acme/widgets.git", "ACME/widgets"),
    ("bitbucket-server", "https://bb.example.com/bitbucket/scm/~alice/widgets.git", "~alice/widgets"),
    ("bitbucket-server", "ssh://git@bb.example.com:7999/acme/widgets.git", "ACME/widgets"),
    ("azure-devops", "https://dev.azure.com/org/Proj/_git/widgets", "Proj/widgets"),
    ("azure-devops", "git@ssh.dev.azure.com:v3/org/Proj/widgets", "Proj/widgets"),
    ("gitea", "https://codeberg.org/acme/widgets.git", "acme/widgets"),
    ("github", "https://github.com/lonely", ""),
])
def test_origin_full_name(kind: str, url: str, expected: str) -> None:
    host = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket-cloud": "bitbucket.org",
            "bitbucket-server": "bb.example.com", "azure-devops": "dev.azure.com", "gitea": "codeberg.org"}[kind]
    api = {"bitbucket-server": "https://bb.example.com/bitbucket", "azure-devops": "https://dev.azure.com/org",
           "gitea": "https://codeberg.org"}.get(kind, "")
    forge = parse_forge({"kind": kind, "host": host, **({"api_url": api} if api else {})})
    assert origin_full_name(forge, url) == expected
