"""With local hosts not allowed, a forge's API on a name that resolves to this machine is never
connected to, through every forge's real client library; nor is one on a local address."""

from __future__ import annotations

import contextlib
import re

import pytest

from service import outbound
from service.forges.forks import ForgeError, ForgeUnavailable, list_forks
from service.settings import parse_forge
from tests.forges.conftest import Setup
from tests.support.ssrf import resolver

NAME = "forge.gitferry.test"


def test_a_forge_on_a_name_that_resolves_locally_is_not_connected_to(setup: Setup,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "resolve", resolver({NAME: ("127.0.0.1",)}))
    forge = parse_forge({**setup.entry, "api_url": setup.entry["api_url"].replace("127.0.0.1", NAME)})
    with outbound.local_hosts(True), contextlib.suppress(ForgeError):
        list_forks(forge, setup.origin)  # (its next-page links name 127.0.0.1, which some clients refuse)
    asked = len(setup.fake.api_requests)
    assert asked > 0  # the name does lead to the fake forge
    refused = re.escape(f"'{NAME}' resolves to 127.0.0.1, a local or private address")
    with outbound.local_hosts(False), pytest.raises(ForgeUnavailable, match=refused):
        list_forks(forge, setup.origin)
    with outbound.local_hosts(False), pytest.raises(ForgeUnavailable, match=re.escape("resolves to 127.0.0.1")):
        list_forks(setup.forge, setup.origin)  # the address itself
    assert len(setup.fake.api_requests) == asked
