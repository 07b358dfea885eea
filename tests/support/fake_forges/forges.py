"""Fakes of GitHub, GitLab, Bitbucket Cloud and Server, Gitea and Azure DevOps: their documented fork JSON,
and the "current user" JSON each answers for the token (the account `ACCOUNT`)."""

from __future__ import annotations

import base64
import re
import time
from typing import Any
from urllib.parse import unquote, urlencode

from tests.support.fake_forges.base import Answer, FakeForge, FakeRepo

ACCOUNT = "ferry-bot"  # the account every fake's token belongs to


def _bearer(headers: Any, token: str, *schemes: str) -> bool:
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    return scheme.lower() in schemes and value.strip() == token


def _link(url: str, rel: str = "next") -> dict[str, str]:
    return {"Link": f'<{url}>; rel="{rel}"'}


class FakeGitHub(FakeForge):
    """GitHub Enterprise: API under /api/v3, next pages linked as /repositories/{id}/forks."""

    kind = "github"
    git_username = "x-access-token"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v3"

    def is_api(self, path: str) -> bool:
        return path.startswith("/api/v3/")

    def authorized(self, headers: Any) -> bool:
        return _bearer(headers, self.token, "token", "bearer")

    def rate_limited(self, seconds: int = 42) -> None:
        self.fail(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + seconds)},
                  {"message": "API rate limit exceeded for installation ID 1."})

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        if path == "/api/v3/user":  # "Get the authenticated user"
            return 200, {}, {"login": ACCOUNT, "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User",
                             "site_admin": False, "name": "Ferry Bot", "html_url": f"{self.base}/{ACCOUNT}"}
        m = re.fullmatch(r"/api/v3/repos/([^/]+)/([^/]+)/forks", path)
        repo = self.repos.get(f"{m[1]}/{m[2]}") if m else None
        m2 = re.fullmatch(r"/api/v3/repositories/(\d+)/forks", path)
        if m2:
            repo = next((r for r in self.repos.values() if r.id == int(m2[1])), None)
        if repo is None:
            return None
        page = int(query.get("page", "1"))
        items, more = self.page(repo.forks, page, int(query.get("per_page", "30")))
        links = _link(f"{self.api_url}/repositories/{repo.id}/forks?"
                      + urlencode({"per_page": query.get("per_page", "30"), "page": page + 1})) if more else {}
        return 200, links, [self.repo_json(f) for f in items]

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        return {"id": repo.id, "name": repo.name, "full_name": repo.full_name, "fork": True,
                "owner": {"login": repo.owner, "type": "User"}, "private": False,
                "html_url": f"{self.base}/{repo.full_name}", "url": f"{self.api_url}/repos/{repo.full_name}",
                "clone_url": self.url_of(repo), "ssh_url": f"git@{self.netloc.split(':')[0]}:{repo.full_name}.git"}


class FakeGitLab(FakeForge):
    kind = "gitlab"
    git_username = "oauth2"

    def is_api(self, path: str) -> bool:
        return path.startswith("/api/v4/")

    def authorized(self, headers: Any) -> bool:
        return headers.get("PRIVATE-TOKEN") == self.token or _bearer(headers, self.token, "bearer")

    def refused(self) -> Answer:
        return 401, {}, {"message": "401 Unauthorized"}

    def rate_limited(self, seconds: int = 30) -> None:
        self.fail(429, {"Retry-After": str(seconds), "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(int(time.time()) + seconds)}, {"message": "Retry later"})

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        if path == "/api/v4/user":  # "Get the current user" (python-gitlab's auth())
            return 200, {}, {"id": 1, "username": ACCOUNT, "name": "Ferry Bot", "state": "active", "locked": False,
                             "bot": False, "web_url": f"{self.base}/{ACCOUNT}"}
        # The project path arrives URL-encoded as one segment: /projects/group%2Fsub%2Fname/forks.
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/forks", path)
        repo = self.repos.get(unquote(m[1])) if m else None
        if repo is None:
            return None
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "20"))
        items, more = self.page(repo.forks, page, per_page)
        headers_out = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(repo.forks))}
        if more:
            headers_out["X-Next-Page"] = str(page + 1)
            headers_out.update(_link(f"{self.base}{path}?" + urlencode({**query, "page": page + 1})))
        return 200, headers_out, [self.repo_json(f) for f in items]

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        namespace = repo.full_name.rpartition("/")[0]
        return {"id": repo.id, "path": repo.name, "path_with_namespace": repo.full_name,
                "namespace": {"path": namespace.split("/")[-1], "full_path": namespace, "kind": "user"},
                "owner": {"username": repo.owner}, "web_url": f"{self.base}/{repo.full_name}",
                "http_url_to_repo": self.url_of(repo),
                "ssh_url_to_repo": f"git@{self.netloc.split(':')[0]}:{repo.full_name}.git"}


class FakeBitbucketCloud(FakeForge):
    """Bitbucket Cloud: /2.0 paged with `next`; https clone links carry a user name."""

    kind = "bitbucket-cloud"
    git_username = "x-token-auth"

    def is_api(self, path: str) -> bool:
        return path.startswith("/2.0/")

    def authorized(self, headers: Any) -> bool:
        return _bearer(headers, self.token, "bearer")

    def refused(self) -> Answer:
        return 401, {}, {"type": "error", "error": {"message": "Access token expired or revoked."}}

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        if path == "/2.0/user":  # "Get current user": an Account (username is no longer sent)
            return 200, {}, {"type": "user", "display_name": "Ferry Bot", "nickname": ACCOUNT,
                             "uuid": "{c0ffee00-0000-4000-8000-000000000001}", "account_id": "557058:c0ffee",
                             "links": {"avatar": {"href": f"{self.base}/avatar.png"}}}
        m = re.fullmatch(r"/2\.0/repositories/([^/]+)/([^/]+)/forks/?", path)
        repo = self.repos.get(f"{m[1]}/{m[2]}") if m else None
        if repo is None:
            return None
        page, pagelen = int(query.get("page", "1")), int(query.get("pagelen", "10"))
        items, more = self.page(repo.forks, page, pagelen)
        body: dict[str, Any] = {"pagelen": pagelen, "page": page, "size": len(repo.forks),
                                "values": [self.repo_json(f) for f in items]}
        if more:
            body["next"] = f"{self.base}{path}?" + urlencode({**query, "page": page + 1})
        return 200, {}, body

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        host = self.netloc
        return {"type": "repository", "full_name": repo.full_name, "slug": repo.name, "name": repo.name,
                "owner": {"type": "user", "nickname": repo.owner, "display_name": repo.owner.title()},
                "workspace": {"slug": repo.full_name.split("/")[0]},
                "links": {"html": {"href": f"{self.base}/{repo.full_name}"},
                          "clone": [{"name": "https", "href": f"http://{repo.owner}@{host}/{repo.git_path}"},
                                    {"name": "ssh", "href": f"git@{host.split(':')[0]}:{repo.full_name}.git"}]}}


class FakeBitbucketServer(FakeForge):
    """Bitbucket Data Center: /rest/api/1.0 with isLastPage/nextPageStart; git under /scm/."""

    kind = "bitbucket-server"
    etags = False

    def make_repo(self, full_name: str, owner: str | None) -> FakeRepo:
        key, _, slug = full_name.partition("/")
        return FakeRepo(full_name, key, slug, f"scm/{key.lower()}/{slug}.git")

    def is_api(self, path: str) -> bool:
        return path.startswith("/rest/api/1.0/")

    def authorized(self, headers: Any) -> bool:
        return _bearer(headers, self.token, "bearer")

    def refused(self) -> Answer:
        return 401, {}, {"errors": [{"context": None, "message": "Authentication failed. Please check your "
                                     "credentials and try again.", "exceptionName": "AuthenticationException"}]}

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        if path == "/rest/api/1.0/application-properties":  # every authenticated answer names its user
            return 200, {"X-AUSERNAME": ACCOUNT}, {"version": "8.19.1", "buildNumber": "8019001",
                                                   "buildDate": "1718000000000", "displayName": "Bitbucket"}
        m = re.fullmatch(r"/rest/api/1\.0/projects/([^/]+)/repos/([^/]+)/forks", path)
        repo = self.repos.get(f"{unquote(m[1]).upper()}/{m[2]}") if m else None
        if repo is None:
            return None
        start, limit = int(query.get("start", "0")), max(1, min(int(query.get("limit", "25")), self.page_size))
        items = repo.forks[start:start + limit]
        last = start + limit >= len(repo.forks)
        body: dict[str, Any] = {"size": len(items), "limit": limit, "start": start, "isLastPage": last,
                                "values": [self.repo_json(f) for f in items]}
        if not last:
            body["nextPageStart"] = start + limit
        return 200, {}, body

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        key, host = repo.owner, self.netloc
        personal = key.startswith("~")
        return {"slug": repo.name, "name": repo.name, "id": repo.id, "scmId": "git", "forkable": True,
                "project": {"key": key, "type": "PERSONAL" if personal else "NORMAL"},
                "links": {"clone": [{"name": "http", "href": f"http://{key.strip('~').lower()}@{host}/{repo.git_path}"},
                                    {"name": "ssh", "href": f"ssh://git@{host.split(':')[0]}:7999/{key.lower()}/"
                                                        f"{repo.name}.git"}],
                          # Web pages, not REST URLs: the driver must not follow these.
                          "self": [{"href": f"{self.base}/projects/{key}/repos/{repo.name}/browse"}]}}


class FakeGitea(FakeForge):
    kind = "gitea"
    git_username = "oauth2"

    def is_api(self, path: str) -> bool:
        return path.startswith("/api/v1/")

    def authorized(self, headers: Any) -> bool:
        return _bearer(headers, self.token, "token", "bearer")

    def refused(self) -> Answer:
        return 401, {}, {"message": "token is required", "url": f"{self.base}/api/swagger"}

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        if path == "/api/v1/user":  # "Get the authenticated user"
            return 200, {}, {"id": 1, "login": ACCOUNT, "login_name": "", "full_name": "Ferry Bot",
                             "email": "ferry-bot@noreply.example", "is_admin": False}
        m = re.fullmatch(r"/api/v1/repos/([^/]+)/([^/]+)/forks", path)
        repo = self.repos.get(f"{m[1]}/{m[2]}") if m else None
        if repo is None:
            return None
        page = int(query.get("page", "1"))
        items, more = self.page(repo.forks, page, int(query.get("limit", "30")))
        headers_out = {"X-Total-Count": str(len(repo.forks))}
        if more:
            headers_out.update(_link(f"{self.base}{path}?" + urlencode({**query, "page": page + 1})))
        return 200, headers_out, [
            {"id": f.id, "full_name": f.full_name, "name": f.name, "fork": True, "owner": {"login": f.owner},
             "html_url": f"{self.base}/{f.full_name}", "clone_url": self.url_of(f),
             "ssh_url": f"git@{self.netloc.split(':')[0]}:{f.full_name}.git"} for f in items]


class FakeAzureDevOps(FakeForge):
    """Azure DevOps organization `org`: connectionData, then Forks - List with continuation tokens."""

    kind = "azure-devops"
    git_username = "pat"
    etags = False
    collection_id = "5e1b4c3a-0000-4000-8000-00000000c011"

    def make_repo(self, full_name: str, owner: str | None) -> FakeRepo:
        project, _, name = full_name.partition("/")
        return FakeRepo(full_name, project, name, f"org/{project}/_git/{name}")

    @property
    def api_url(self) -> str:
        return f"{self.base}/org"

    def is_api(self, path: str) -> bool:
        return "/_apis/" in path

    def authorized(self, headers: Any) -> bool:
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        try:
            password = base64.b64decode(value).decode().partition(":")[2]
        except ValueError:
            return False
        return scheme.lower() == "basic" and password == self.token

    def refused(self) -> Answer:
        return 401, {}, None  # Azure DevOps answers a bad PAT with an empty 401 (or a sign-in page)

    def api(self, path: str, query: dict[str, str], headers: Any) -> Answer | None:
        if path == "/org/_apis/connectionData":
            user = {"id": "9e1e1b5a-0000-4000-8000-0000000000a1", "providerDisplayName": "Ferry Bot",
                    "isActive": True, "properties": {"Account": {"$type": "System.String", "$value": ACCOUNT}}}
            return 200, {}, {"authenticatedUser": user, "authorizedUser": user, "instanceId": self.collection_id,
                             "deploymentType": "hosted", "locationServiceData": {}}
        m = re.fullmatch(r"/org/([^/]+)/_apis/git/repositories/([^/]+)/forks/([^/]+)", path)
        repo = self.repos.get(f"{m[1]}/{m[2]}") if m else None
        if repo is None or m[3] != self.collection_id or not query.get("api-version", "").startswith("7.1"):
            return None
        start = int(query.get("continuationToken", "0"))
        items = repo.forks[start:start + self.page_size]
        more = {"x-ms-continuationtoken": str(start + self.page_size)} if start + self.page_size < len(repo.forks) \
            else {}
        return 200, more, {"count": len(items), "value": [
            {"id": f"0000-{f.id}", "name": f.name, "project": {"name": f.owner},
             "remoteUrl": f"http://org@{self.netloc}/{f.git_path}", "url": f"{self.api_url}/_apis/git/{f.id}",
             "sshUrl": f"git@ssh.{self.netloc.split(':')[0]}:v3/org/{f.owner}/{f.name}", "isFork": True}
            for f in items]}
