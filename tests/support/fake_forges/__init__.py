"""Fake forge hosts for tests: each forge's fork JSON plus git over smart HTTP, behind one token."""

from tests.support.fake_forges.base import FakeForge, FakeRepo
from tests.support.fake_forges.forges import (
    ACCOUNT,
    FakeAzureDevOps,
    FakeBitbucketCloud,
    FakeBitbucketServer,
    FakeGitea,
    FakeGitHub,
    FakeGitLab,
)

__all__ = ["ACCOUNT", "FakeAzureDevOps", "FakeBitbucketCloud", "FakeBitbucketServer", "FakeForge", "FakeGitHub",
           "FakeGitLab", "FakeGitea", "FakeRepo"]
