"""What every forge driver speaks: one ForgeEvent for webhooks, one Fork for fork listings, one ForgeDriver."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from service.domain.forge import ForgeConfig
from service.domain.validation import RemoteUrl

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class RefChange:
    """One ref a push moved: `ref` fully qualified (refs/heads/x, refs/tags/v1)."""

    ref: str
    before: str
    after: str
    forced: bool = False

    @property
    def created(self) -> bool:
        return self.before.strip("0") == ""

    @property
    def deleted(self) -> bool:
        return self.after.strip("0") == ""

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


@dataclass(frozen=True)
class ForgeEvent:
    """A webhook delivery as gitferry understands it, whatever forge sent it."""

    forge: str  # the kind of the forge that sent it
    delivery_id: str
    kind: str  # "push", "ping", or the forge's own event name for events we ignore
    full_name: str = ""  # owner/name (Azure DevOps: project/repo)
    clone_urls: tuple[str, ...] = ()
    web_url: str = ""
    changes: tuple[RefChange, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Fork:
    """A fork of a repository as a forge lists it."""

    full_name: str
    owner: str
    clone_url: str
    ssh_url: str
    web_url: str
    provider: str

    def to_dict(self) -> dict[str, str]:
        return {"full_name": self.full_name, "owner": self.owner, "clone_url": self.clone_url,
                "ssh_url": self.ssh_url, "web_url": self.web_url, "provider": self.provider}


class WebhookError(Exception):
    """A delivery that cannot be accepted; `status` is the HTTP answer (400 or 401)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class WebhookDriver(Protocol):
    """Verifies and parses one forge's webhook deliveries into a ForgeEvent."""

    forge: str  # the kind of the forge whose deliveries these are
    # The headers naming a delivery's event and its id, first present wins (none: they are in the body);
    # also read, unchecked, to record a delivery refused before it was read.
    event_headers: tuple[str, ...]
    delivery_headers: tuple[str, ...]

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """True if these headers come from this forge (tells forges that share an endpoint apart)."""

    def has_credentials(self, headers: Mapping[str, str]) -> bool:
        """True if the delivery carries a signature, token or password at all."""

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """True if the delivery is signed (or authenticated) with `secret`; constant time."""

    def parse(self, headers: Mapping[str, str], payload: Any) -> ForgeEvent:
        """The ForgeEvent of a delivery; WebhookError(400) when a field it needs is missing."""


class AccountReader(Protocol):
    """A forge package's account module: who a token is, asked of the forge's "who am I" endpoint."""

    def account(self, forge: ForgeConfig) -> str:
        """The name of the account `forge.token` belongs to; ForgeError when the forge refuses or fails."""


class ForkLister(Protocol):
    """A forge package's forks module."""

    def list_forks(self, forge: ForgeConfig, name: str) -> list[Fork]:
        """Every fork of the repository `name` on `forge`, across all pages; ForgeError when the forge fails."""

    def full_name(self, path: str, forge: ForgeConfig) -> str:
        """The forge's name for the repository at a remote URL's `path`; "" if the path names none."""


@dataclass(frozen=True)
class ForgeDriver:
    """Everything gitferry knows of one kind of forge; each package under service/forges exports one as DRIVER."""

    kind: str  # what a forges entry says in `kind`
    endpoint: str  # deliveries come to POST /hooks/<endpoint>; forges sharing one are told apart by headers
    provider: str  # the icon key the API gives remotes on this forge
    git_username: str  # beside a token for git over HTTPS; "" when only the token's owner will do
    webhook: WebhookDriver
    forks_module: str  # imported when first needed: the forges' client libraries are slow to import
    account_module: str  # the same: who the configured token is (testing it from the forges page)
    default_host: str = ""  # of the SaaS forge, which an entry may then leave out with its api_url
    default_api_url: str = ""
    known_hosts: tuple[str, ...] = ()  # more hosts on this forge without any forges entry; "*.x" for subdomains
    events_without_urls: bool = False  # pushes name the repository by full name alone
    # The repository's page from a remote URL (None if the URL names none), and the page
    # comparing two refs there: compare_url(page, base, head), each side (kind, name)
    # (service/forges/weburls.py).
    web_url: Callable[[RemoteUrl], str | None] = lambda _remote: None
    compare_url: Callable[[str, tuple[str, str], tuple[str, str]], str] = lambda web, _base, _head: web

    @property
    def forks(self) -> ForkLister:
        return cast(ForkLister, importlib.import_module(self.forks_module))

    @property
    def accounts(self) -> AccountReader:
        return cast(AccountReader, importlib.import_module(self.account_module))

    def knows_host(self, host: str) -> bool:
        """True if every remote on `host` (without port) is on this forge."""
        return any(host == known or (known.startswith("*.") and host.endswith(known[1:]))
                   for known in filter(None, (self.default_host, *self.known_hosts)))
