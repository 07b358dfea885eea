"""The web's name and URL checks (domain) and the engine's own (defence in depth) must agree."""

from __future__ import annotations

import ipaddress

import pytest

from service.domain.validation import (
    InvalidValue,
    check_ref_name,
    check_remote_name,
    check_start_point,
    check_url,
    is_local_ip,
)
from tests.support.ssrf import Spelling, spellings
from workers.git import GitError
from workers.git import validate as engine

NAMES = ["main", "feature/x", "a..b", "-x", "--upload-pack=evil", "refs/heads/x", "with space", "x.lock",
         "@{u}", "HEAD", "@", "a/.b", "a//b", "end.", "/lead", "trail/", "ü-unicode", "x" * 256, "tab\tx",
         "a:b", "a~1", "a^", "a?", "a*", "a[", "a\\b", "release-1.0", "v1.2.3", "_under", ".dot",
         "FETCH_HEAD", "ORIG_HEAD", "CHERRY_PICK_HEAD", "head", "Head-start", "refs", "REFS",
         "fix\u202egnp.exe", "a\u2066b", "mark\u200f", "arabic-\u0627",
         # limited per part as the file system limits git: 255 bytes, the last part 250 (".lock" is added)
         "x" * 250, "x" * 251, "y" * 255 + "/z", "y" * 256 + "/z", "\u00e9" * 125, "\u00e9" * 126,
         "a/" * 1999 + "bb", "a/" * 2000 + "b"]
START_POINTS = ["origin/main", "refs/heads/main", "refs/remotes/origin/main", "refs/remotes/origin/" + "x" * 250,
                "origin/" + "x" * 250, "abc123", "refs/tags/v1", "refs/heads/", "refs/remotes/origin",
                "refs/remotes/-x/main", "refs/remotes/origin/HEAD", "refs/heads/a..b", "HEAD~1", "-x"]


def accepts(check, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(name)
    except (InvalidValue, GitError):
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_branch_rules_agree(name: str) -> None:
    assert accepts(check_ref_name, name) == accepts(engine.branch_name, name)


@pytest.mark.parametrize("start", [*START_POINTS, *NAMES])
def test_start_point_rules_agree(start: str) -> None:
    assert accepts(check_start_point, start) == accepts(engine.start_point, start)


def test_start_points_git_lists_are_accepted_and_others_refused() -> None:
    accepted = {s for s in START_POINTS if accepts(check_start_point, s)}
    assert accepted == {"origin/main", "refs/heads/main", "refs/remotes/origin/main", "abc123",
                        "refs/remotes/origin/" + "x" * 250, "origin/" + "x" * 250}


@pytest.mark.parametrize("name", [*NAMES, "origin", "alice-fork", "up.stream", "a/b"])
def test_remote_rules_agree(name: str) -> None:
    assert accepts(check_remote_name, name) == accepts(engine.remote_name, name)


# Remote URLs whose hosts must still be accepted, local remotes on or off.
PUBLIC_URLS = ["https://github.com/acme/widgets.git", "https://GitHub.com/acme/widgets", "https://github.com./a/b",
               "ssh://git@github.com/acme/widgets.git", "git@github.com:acme/widgets.git",
               "ssh+git://git@github.com/a/b", "git+ssh://git@github.com/a/b",
               "ssh://git@bb.example.com:7999/acme/widgets.git", "https://gitlab.example.com:8443/group/sub/proj.git",
               "https://dev.azure.com/org/project/_git/repo", "git@ssh.dev.azure.com:v3/org/project/repo",
               "https://xn--bcher-kva.example/x.git", "https://git_host.example.com/x.git", "https://8.8.8.8/x.git",
               "https://100.63.255.255/x.git", "https://100.128.0.1/x.git", "https://16843009/x.git",
               "https://[2606:4700:4700::1111]/x.git", "git@[2606:4700:4700::1111]:x.git",
               "https://[::ffff:8.8.8.8]/x.git", "https://[2002:808:808::1]/x.git"]
# Refused whatever GITFERRY_ALLOW_LOCAL_REMOTES says: option look-alikes, hosts not written as they are read.
MISWRITTEN_URLS = ["ssh://-oProxyCommand=x/y", "ssh://%2DoProxyCommand=x/y", "ssh://-oProxyCommand=x@github.com/y",
                   "git@-oProxyCommand=x:y", "https://%67ithub.com/a/b", "https://bücher.example/x.git",
                   "https://a..b/x.git", "https://.github.com/x", "https://git%00hub.com/x", "https://[%3a%3a1]/x",
                   "https://a@b@github.com/x", "https://github.com\\@evil.example/x", "ssh://git@gith%FFub.com/x"]


def _accepts_url(url: str, *, allow_local: bool) -> tuple[bool, bool]:
    protocols = ("https", "ssh") + (("http", "file") if allow_local else ())
    return (accepts(lambda u: check_url(u, allow_local=allow_local), url),
            accepts(lambda u: engine.remote_url(u, protocols, allow_local_hosts=allow_local), url))


@pytest.mark.parametrize("url", PUBLIC_URLS)
@pytest.mark.parametrize("allow_local", [False, True])
def test_public_hosts_are_accepted_by_both(url: str, allow_local: bool) -> None:
    assert _accepts_url(url, allow_local=allow_local) == (True, True)


@pytest.mark.parametrize("url", MISWRITTEN_URLS)
@pytest.mark.parametrize("allow_local", [False, True])
def test_miswritten_hosts_are_refused_by_both(url: str, allow_local: bool) -> None:
    assert _accepts_url(url, allow_local=allow_local) == (False, False)


@pytest.mark.parametrize("case", spellings(8443), ids=lambda case: case.url)
def test_local_hosts_are_refused_by_both_when_local_remotes_are_off(case: Spelling) -> None:
    """Names that only resolve to a local address pass both: the engine refuses them where it connects."""
    assert _accepts_url(case.url, allow_local=False) == (case.by_name, case.by_name)


ADDRESSES = {"127.0.0.1": True, "10.1.2.3": True, "172.31.255.255": True, "192.168.1.1": True, "100.64.0.1": True,
             "100.127.255.255": True, "169.254.169.254": True, "0.0.0.0": True, "224.0.0.251": True,
             "240.0.0.1": True, "255.255.255.255": True, "192.0.2.1": True, "198.18.0.1": True, "::1": True, "::": True,
             "fe80::1": True, "fc00::1": True, "fd00:ec2::254": True, "fec0::1": True, "ff02::1": True,
             "::ffff:127.0.0.1": True, "::ffff:10.0.0.1": True, "::127.0.0.1": True, "64:ff9b::a00:1": True,
             "2002:7f00:1::": True, "2001:db8::1": True, "8.8.8.8": False, "100.63.255.255": False,
             "100.128.0.0": False, "1.1.1.1": False, "2606:4700:4700::1111": False, "::ffff:8.8.8.8": False,
             "2002:808:808::": False, "64:ff9b::808:808": False}


@pytest.mark.parametrize(("address", "local"), ADDRESSES.items())
def test_local_addresses_agree(address: str, local: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert is_local_ip(ip) == engine.is_local_ip(ip) == local
