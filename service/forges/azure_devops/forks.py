"""Azure DevOps forks through its REST API (Forks - List, api-version 7.1-preview.1)."""

from __future__ import annotations

from urllib.parse import quote

from service.domain.forge import ForgeConfig
from service.forges.azure_devops import DRIVER
from service.forges.base import Fork
from service.forges.http import ForgeUnavailable, http_get, json_of, new_session, plain_clone_url, repo_path

NAME = "Azure DevOps"
API_VERSION = "7.1-preview.1"


def full_name(path: str, forge: ForgeConfig) -> str:
    """project/repo from https .../project/_git/repo or ssh v3/org/project/repo."""
    segments = repo_path(path, forge.api_url)
    if "_git" in segments:
        at = segments.index("_git")
        if 1 <= at < len(segments) - 1:
            return f"{segments[at - 1]}/{segments[at + 1]}"
        return ""
    if len(segments) == 4 and segments[0] == "v3":
        return f"{segments[2]}/{segments[3]}"
    return ""


def list_forks(forge: ForgeConfig, name: str) -> list[Fork]:
    project, _, repo = name.partition("/")
    session = new_session()
    if forge.token:
        session.auth = (forge.username, forge.token)  # a PAT goes as the basic-auth password
    try:
        # Forks - List wants the id of the collection (organization) the forks live in.
        collection = json_of(http_get(session, f"{forge.api_url}/_apis/connectionData", NAME), NAME)
        collection_id = collection.get("instanceId") if isinstance(collection, dict) else None
        if not collection_id:
            raise ForgeUnavailable(f"{NAME} did not say which collection {forge.api_url} is")
        url = (f"{forge.api_url}/{quote(project)}/_apis/git/repositories/{quote(repo)}/forks/"
               f"{quote(collection_id)}")
        params = {"api-version": API_VERSION}
        forks: list[Fork] = []
        for _ in range(1000):
            response = http_get(session, url, NAME, params=params)
            body = json_of(response, NAME)
            forks += [_fork(raw) for raw in (body.get("value") or [] if isinstance(body, dict) else [])]
            token = response.headers.get("x-ms-continuationtoken")
            if not token:
                return forks
            params = {"api-version": API_VERSION, "continuationToken": token}
        raise ForgeUnavailable(f"{NAME} kept answering with more pages")
    finally:
        session.close()


def _fork(raw: dict) -> Fork:  # type: ignore[type-arg]
    project = (raw.get("project") or {}).get("name", "")
    url = plain_clone_url(raw.get("remoteUrl") or "")
    return Fork(full_name=f"{project}/{raw['name']}", owner=project, clone_url=url,
                ssh_url=raw.get("sshUrl") or "", web_url=raw.get("webUrl") or url, provider=DRIVER.provider)
