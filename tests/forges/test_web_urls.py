"""A repository's page and a comparison's page on each forge, from the remote URLs users give."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from service.forges.registry import compare_url_for, web_url_for

MAIN, TOPIC, SHA = ("branch", "main"), ("branch", "topic/x"), ("commit", "a" * 40)


@pytest.mark.parametrize(("url", "hosts", "page"), [
    ("https://github.com/acme/widgets.git", None, "https://github.com/acme/widgets"),
    ("git@github.com:acme/widgets.git", None, "https://github.com/acme/widgets"),
    ("ssh://git@github.com/acme/widgets", None, "https://github.com/acme/widgets"),
    ("https://gitlab.com/group/sub/project.git", None, "https://gitlab.com/group/sub/project"),
    ("ssh://git@gitlab.example.com:2222/g/p.git", {"gitlab.example.com": "gitlab"},
     "https://gitlab.example.com/g/p"),
    ("git@bitbucket.org:team/repo.git", None, "https://bitbucket.org/team/repo"),
    ("https://codeberg.org/owner/repo.git", None, "https://codeberg.org/owner/repo"),
    ("https://git.example.com/bitbucket/scm/proj/repo.git", {"git.example.com": "bitbucket-server"},
     "https://git.example.com/bitbucket/projects/PROJ/repos/repo"),
    ("ssh://git@git.example.com:7999/proj/repo.git", {"git.example.com": "bitbucket-server"},
     "https://git.example.com/projects/PROJ/repos/repo"),
    ("https://org@dev.azure.com/org/project/_git/repo", None, "https://dev.azure.com/org/project/_git/repo"),
    ("git@ssh.dev.azure.com:v3/org/project/repo", None, "https://dev.azure.com/org/project/_git/repo"),
    ("org@vs-ssh.visualstudio.com:v3/org/project/repo", None, "https://org.visualstudio.com/project/_git/repo"),
    ("https://example.com/acme/widgets.git", None, None),  # on no forge gitferry knows
    ("file:///srv/git/widgets.git", None, None),
    ("https://github.com/widgets", None, None),  # names no repository
])
def test_a_remotes_page_on_its_forge(url: str, hosts: dict[str, str] | None, page: str | None) -> None:
    assert web_url_for(url, hosts) == page


@pytest.mark.parametrize(("url", "hosts", "base", "head", "page"), [
    ("https://github.com/acme/w.git", None, MAIN, TOPIC, "https://github.com/acme/w/compare/main...topic/x"),
    ("https://gitlab.com/g/p.git", None, MAIN, SHA, f"https://gitlab.com/g/p/-/compare/main...{'a' * 40}"),
    ("https://gitea.example.com/o/r.git", {"gitea.example.com": "gitea"}, MAIN, TOPIC,
     "https://gitea.example.com/o/r/compare/main...topic/x"),
    ("git@bitbucket.org:team/repo.git", None, MAIN, TOPIC,
     "https://bitbucket.org/team/repo/branches/compare/topic/x%0Dmain"),
    ("https://git.example.com/scm/proj/repo.git", {"git.example.com": "bitbucket-server"}, MAIN, TOPIC,
     "https://git.example.com/projects/PROJ/repos/repo/compare/commits?sourceBranch=refs%2Fheads%2Ftopic%2Fx"
     "&targetBranch=refs%2Fheads%2Fmain"),
    ("https://dev.azure.com/org/p/_git/r", None, MAIN, ("tag", "v1"),
     "https://dev.azure.com/org/p/_git/r/branchCompare?baseVersion=GBmain&targetVersion=GTv1"),
    ("https://dev.azure.com/org/p/_git/r", None, SHA, MAIN,
     f"https://dev.azure.com/org/p/_git/r/branchCompare?baseVersion=GC{'a' * 40}&targetVersion=GBmain"),
    ("file:///srv/git/widgets.git", None, MAIN, TOPIC, None),
])
def test_a_comparison_on_each_forge(url: str, hosts: dict[str, str] | None, base: tuple[str, str],
                                    head: tuple[str, str], page: str | None) -> None:
    assert compare_url_for(url, base, head, hosts) == page


def test_repos_and_remotes_carry_their_pages(client: FlaskClient, admin: dict[str, str]) -> None:
    created = client.post("/api/v1/repos", headers=admin,
                          json={"name": "acme/widgets", "url": "https://github.com/acme/widgets.git"})
    assert created.status_code == 201 and created.json["web_url"] == "https://github.com/acme/widgets"
    added = client.post("/api/v1/repos/acme/widgets/remotes", headers=admin,
                        json={"name": "upstream", "url": "git@gitlab.com:up/widgets.git"})
    assert added.status_code == 201 and added.json["web_url"] == "https://gitlab.com/up/widgets"
    remotes = client.get("/api/v1/repos/acme/widgets/remotes", headers=admin).json["remotes"]
    assert {r["name"]: r["web_url"] for r in remotes} == {"origin": "https://github.com/acme/widgets",
                                                          "upstream": "https://gitlab.com/up/widgets"}
    assert client.get("/api/v1/repos/acme/widgets", headers=admin).json["remotes"] == remotes
