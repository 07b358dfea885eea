"""Matching forge events to remotes, and which sync rules a fetch sets off (pure functions)."""

from __future__ import annotations

import pytest

from service.domain.matching import event_keys, url_key
from service.domain.records import Rule
from service.domain.rules import rules_to_run
from service.domain.types import utcnow


@pytest.mark.parametrize("a, b", [
    ("https://github.com/Acme/Widgets.git", "git@github.com:acme/widgets"),
    ("https://github.com/acme/widgets", "ssh://git@github.com:22/acme/widgets.git"),
    ("https://github.com:443/acme/widgets/", "https://github.com/acme/widgets.git"),
    ("https://gitlab.example.com/group/sub/proj.git", "ssh://git@gitlab.example.com:2222/group/sub/proj.git"),
    ("https://dev.azure.com/org/proj/_git/repo", "git@ssh.dev.azure.com:v3/org/proj/repo"),
    ("https://org.visualstudio.com/DefaultCollection/proj/_git/repo", "https://dev.azure.com/org/proj/_git/repo"),
    ("https://org@dev.azure.com/org/proj/_git/repo", "https://dev.azure.com/org/proj/_git/repo"),
])
def test_one_repository_many_urls(a: str, b: str) -> None:
    assert url_key(a) == url_key(b) is not None


@pytest.mark.parametrize("a, b", [
    ("https://github.com/acme/widgets", "https://github.com/acme/widgets-fork"),
    ("https://github.com/acme/widgets", "https://gitlab.com/acme/widgets"),
    ("http://127.0.0.1:8001/a.git", "http://127.0.0.1:8002/a.git"),  # two forges on one machine
])
def test_different_repositories_differ(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)


def test_unparsable_urls_have_no_key() -> None:
    assert url_key("not a url") is None
    assert url_key("https://github.com/") is None


def test_event_keys_use_full_name_on_forges_without_clone_urls() -> None:
    keys = event_keys([], "https://bitbucket.org/Team/Repo", "Team/Repo", name_hosts=["bitbucket.org", "bb.local:8443"])
    assert url_key("git@bitbucket.org:team/repo.git") in keys
    assert "bb.local:8443/team/repo" in keys


def rule(name: str, remote: str, branch: str) -> Rule:
    return Rule(0, 1, name, remote, branch, branch, None, None, False, utcnow())


RULES = [rule("b-docs", "upstream", "docs"), rule("a-main", "upstream", "main"), rule("fork-main", "fork", "main")]


def test_rules_run_for_moved_and_created_branches_of_their_remote() -> None:
    fetched = {"updated": [moved("refs/heads/main"), moved("refs/heads/docs", old=None), moved("refs/tags/v1")],
               "deleted": []}
    assert [r.name for r in rules_to_run(RULES, "upstream", fetched)] == ["a-main", "b-docs"]


def moved(ref: str, old: str | None = "a" * 40) -> dict[str, str | None]:
    """A ref in a fetch result's "updated" (old None: created)."""
    return {"ref": ref, "old": old, "new": "b" * 40}


def test_deleted_branches_and_tags_run_no_rule() -> None:
    fetched = {"updated": [moved("refs/tags/main")], "deleted": [{"ref": "refs/heads/main", "old": "a" * 40}]}
    assert rules_to_run(RULES, "upstream", fetched) == []
    assert rules_to_run(RULES, "elsewhere", {"updated": [moved("refs/heads/main")]}) == []
