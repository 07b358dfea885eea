"""What every forge driver speaks: one ForgeEvent for webhooks, one Fork for fork listings."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    forge: str  # github, gitlab, bitbucket-cloud, bitbucket-server, gitea, azure-devops
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
