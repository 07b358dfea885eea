"""A remote's host is resolved once where git is started, and git is held to the addresses
checked: curl through http.curloptResolve, ssh through HostName (with HostKeyAlias)."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import Forge
from tests.support.git_http import GitHttpServer
from tests.support.repos import GIT_ENV, git
from tests.support.ssrf import PUBLIC, Listener, resolver
from workers.git import GitConfig, GitError
from workers.git.pin import curl_resolve, ssh_options
from workers.git.runner import Runner
from workers.git.validate import Endpoint

V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
NAMES = {"git.example.com": (PUBLIC, V6), "mixed.example.com": (PUBLIC, "10.1.2.3")}


class Recorded:
    """A fake git that writes down its arguments and GIT_SSH_COMMAND, and a resolver that counts."""

    def __init__(self, tmp_path: Path) -> None:
        self.file = tmp_path / "call.json"
        fake = tmp_path / "fake-git"
        fake.write_text("#!/usr/bin/env python3\nimport json, os, sys\n"
                        "json.dump([sys.argv[1:], os.environ.get('GIT_SSH_COMMAND')], "
                        f"open({str(self.file)!r}, 'w'))\n")
        fake.chmod(0o755)
        self.resolved: list[str] = []
        answer = resolver(NAMES)

        def counting(host: str, *args: Any) -> Any:
            self.resolved.append(host)
            return answer(host, *args)

        self.config = GitConfig(git_binary=str(fake), resolve=counting)

    def run(self, url: str, config: GitConfig | None = None) -> tuple[list[str], str]:
        Runner(config or self.config).run(["fetch", "--end-of-options", "origin"], url=url)
        args, ssh = json.loads(self.file.read_text())
        return args, ssh

    @property
    def ran(self) -> bool:
        return self.file.exists()


@pytest.fixture
def recorded(tmp_path: Path) -> Recorded:
    return Recorded(tmp_path)


def test_curl_is_given_the_addresses_checked(recorded: Recorded) -> None:
    args, _ = recorded.run("https://git.example.com/acme/widgets.git")
    pinned = ["-c", f"http.curloptResolve=git.example.com:443:{PUBLIC},[{V6}]", "-c", "http.followRedirects=false"]
    assert args[args.index("fetch") - len(pinned): args.index("fetch")] == pinned
    assert recorded.resolved == ["git.example.com"]  # once a call


def test_a_port_of_its_own_is_pinned_with_it(recorded: Recorded) -> None:
    args, _ = recorded.run("https://GIT.example.com:8443/acme/widgets.git")
    assert f"http.curloptResolve=git.example.com:8443:{PUBLIC},[{V6}]" in args


def test_an_address_in_the_url_needs_no_pin_but_no_redirect_either(recorded: Recorded) -> None:
    args, _ = recorded.run(f"https://[{V6}]/acme/widgets.git")
    assert "http.followRedirects=false" in args and not any(a.startswith("http.curloptResolve") for a in args)


@pytest.mark.parametrize(("url", "alias"), [
    ("ssh://git@git.example.com/acme/widgets.git", "git.example.com"),
    ("git@git.example.com:acme/widgets.git", "git.example.com"),
    ("ssh://git@git.example.com:2222/acme/widgets.git", "[git.example.com]:2222"),  # as known_hosts keys it
])
def test_ssh_connects_to_the_address_checked(recorded: Recorded, url: str, alias: str) -> None:
    args, ssh = recorded.run(url)
    base = Runner(recorded.config).base_env()["GIT_SSH_COMMAND"]
    assert shlex.split(ssh) == [*shlex.split(base), "-o", f"HostName={PUBLIC}", "-o", f"HostKeyAlias={alias}"]
    assert not any(a.startswith("http.") for a in args)
    assert recorded.resolved == ["git.example.com"]


@pytest.mark.parametrize(("url", "code"), [
    ("https://mixed.example.com/acme/widgets.git", "remote_not_allowed"),  # one private address is enough
    ("ssh://git@mixed.example.com/acme/widgets.git", "remote_not_allowed"),
    ("https://nowhere.invalid/acme/widgets.git", "network"),  # git would not find it either
])
def test_a_host_that_fails_the_check_starts_no_git(recorded: Recorded, url: str, code: str) -> None:
    with pytest.raises(GitError) as err:
        recorded.run(url)
    assert err.value.code == code, err.value.message
    assert not recorded.ran


def test_with_local_hosts_allowed_nothing_is_resolved_or_pinned(recorded: Recorded) -> None:
    allowed = replace(recorded.config, allow_local_hosts=True)
    args, _ = recorded.run("https://mixed.example.com/acme/widgets.git", allowed)
    assert not any(a.startswith("http.") for a in args)
    assert "HostName" not in recorded.run("ssh://git@mixed.example.com/x.git", allowed)[1]
    assert recorded.resolved == []


def test_a_network_call_without_its_url_is_refused(recorded: Recorded) -> None:
    with pytest.raises(GitError) as err:
        Runner(recorded.config).run(["fetch", "origin"])
    assert err.value.code == "internal"
    assert not recorded.ran


def test_git_connects_where_curl_is_pinned(forge: Forge) -> None:
    """git 2.37+ hands http.curloptResolve to curl: a name no DNS knows reaches the server it is
    pinned to, and an IPv6 address beside the IPv4 one is read too."""
    with GitHttpServer(forge.path.parent) as server:
        port = int(server.netloc.rsplit(":", 1)[1])
        entry = curl_resolve(Endpoint("http", "pinned.gitferry.test", port), ["::1", "127.0.0.1"])
        out = git(forge.path, "-c", f"http.curloptResolve={entry}", "-c", "http.followRedirects=false",
                  "ls-remote", f"http://pinned.gitferry.test:{port}/{forge.path.name}")
    assert f"{forge.sha('refs/heads/main')}\trefs/heads/main" in out


def test_ssh_connects_where_it_is_pinned(tmp_path: Path) -> None:
    """OpenSSH connects to HostName without resolving the name git gave it."""
    with Listener() as listener:
        options = ssh_options(Endpoint("ssh", "pinned.gitferry.test", listener.port), "127.0.0.1")
        ssh = Runner(GitConfig()).base_env()["GIT_SSH_COMMAND"] + " " + shlex.join(options)
        proc = subprocess.run(["git", "ls-remote", f"ssh://git@pinned.gitferry.test:{listener.port}/x.git"],
                              cwd=tmp_path, env={**GIT_ENV, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                 "GIT_SSH_COMMAND": ssh}, capture_output=True, text=True)
    assert proc.returncode != 0 and "Could not resolve" not in proc.stderr, proc.stderr
    assert listener.connections == 1


def test_ssh_reads_the_alias_as_its_host_key_name(tmp_path: Path) -> None:
    options = ssh_options(Endpoint("ssh", "git.example.com", 2222), PUBLIC)
    shown = subprocess.run(["ssh", "-G", *options, "-p", "2222", "git@git.example.com"], capture_output=True,
                           text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=True).stdout
    assert f"hostname {PUBLIC}\n" in shown and "hostkeyalias [git.example.com]:2222\n" in shown
