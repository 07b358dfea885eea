"""The forge registry: a forge lives in its folder and one registry line, and everything else reads it."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from service.domain.forge import ForgeConfig
from service.forges.base import ForgeDriver
from service.forges.entries import ForgeEntryError, forge_config, forge_from_entry
from service.forges.registry import (
    BY_KIND,
    DRIVERS,
    ENDPOINTS,
    KINDS,
    OTHER,
    PROVIDERS,
    drivers_for,
    name_hosts,
    provider_for_url,
)
from service.settings import SettingsError, parse_forge

ROOT = Path(__file__).resolve().parents[2]
FORGES = ROOT / "service" / "forges"
REGISTRY = FORGES / "registry.py"


def forge_packages() -> dict[str, ForgeDriver]:
    """Package name -> its DRIVER, for every folder under service/forges."""
    found = {}
    for folder in sorted(p for p in FORGES.iterdir() if (p / "__init__.py").is_file()):
        found[folder.name] = importlib.import_module(f"service.forges.{folder.name}").DRIVER
    return found


def names_of(driver: ForgeDriver) -> set[str]:
    return {driver.kind, driver.endpoint, driver.provider}


def string_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant in the file, docstrings and f-string parts included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_a_forge_is_named_only_in_its_folder_and_its_registry_line() -> None:
    packages = forge_packages()
    names = {name for driver in DRIVERS for name in names_of(driver)}
    # Whole words, so that Python names (github_forks) and proper names (GitHub) do not count.
    word = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?![\w-])")
    # (The OpenAPI document's examples are data about a made-up repo on GitHub, not forge knowledge.)
    examples = ROOT / "service" / "web" / "openapi_operations.py"
    sources = sorted(p for p in [*(ROOT / "service").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]
                     if p != examples)
    assert len(sources) > 50
    misplaced = []
    for path in sources:
        for line, text in string_literals(path):
            for name in set(word.findall(text)):
                owners = [pkg for pkg, driver in packages.items() if name in names_of(driver)]
                in_folder = any(path.is_relative_to(FORGES / pkg) for pkg in owners)
                registry_line = path == REGISTRY and text in owners
                if not (in_folder or registry_line):
                    misplaced.append(f"{path.relative_to(ROOT)}:{line}: {name!r} in {text[:60]!r}")
    assert misplaced == []


def test_every_forge_folder_is_in_the_registry_once() -> None:
    assert sorted(DRIVERS, key=lambda d: d.kind) == sorted(forge_packages().values(), key=lambda d: d.kind)
    assert len(set(KINDS)) == len(DRIVERS)


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.kind)
def test_each_driver_agrees_with_its_parts(driver: ForgeDriver) -> None:
    assert driver.webhook.forge == driver.kind
    assert driver.webhook in drivers_for(driver.endpoint)
    assert callable(driver.forks.list_forks) and callable(driver.forks.full_name)
    assert callable(driver.accounts.account)
    assert isinstance(driver.webhook.event_headers, tuple) and isinstance(driver.webhook.delivery_headers, tuple)
    assert bool(driver.default_host) == bool(driver.default_api_url)


def test_lists_read_from_the_registry() -> None:
    assert set(KINDS) == {"github", "gitlab", "bitbucket-cloud", "bitbucket-server", "azure-devops", "gitea"}
    assert set(ENDPOINTS) == {"github", "gitlab", "bitbucket", "gitea", "azure-devops"}
    assert PROVIDERS == ("github", "gitlab", "bitbucket", "azure-devops", "gitea", OTHER)
    assert {k: BY_KIND[k].git_username for k in KINDS} == {
        "github": "x-access-token", "gitlab": "oauth2", "bitbucket-cloud": "x-token-auth", "bitbucket-server": "",
        "azure-devops": "pat", "gitea": "oauth2"}


@pytest.mark.parametrize(("url", "provider"), [
    ("https://github.com/acme/widgets.git", "github"),
    ("git@gitlab.com:acme/tools/widgets.git", "gitlab"),
    ("https://bitbucket.org/acme/widgets.git", "bitbucket"),
    ("https://dev.azure.com/org/Proj/_git/widgets", "azure-devops"),
    ("git@ssh.dev.azure.com:v3/org/Proj/widgets", "azure-devops"),
    ("ssh://vs-ssh.visualstudio.com:22/v3/org/Proj/widgets", "azure-devops"),
    ("https://acme.visualstudio.com/Proj/_git/widgets", "azure-devops"),
    ("https://codeberg.org/acme/widgets.git", "gitea"),
    ("https://evilgithub.com/acme/widgets.git", OTHER),
    ("https://git.example.com/acme/widgets.git", OTHER),
    ("not a url", OTHER),
])
def test_provider_of_a_well_known_host(url: str, provider: str) -> None:
    assert provider_for_url(url) == provider


def test_provider_of_a_configured_host() -> None:
    hosts = {"git.example.com": "bitbucket-server", "code.example.com:8443": "gitea", "github.com": "gitlab",
             "old.example.com": "sourceforge"}
    assert provider_for_url("https://git.example.com/scm/acme/widgets.git", hosts) == "bitbucket"
    assert provider_for_url("ssh://git@git.example.com:7999/acme/widgets.git", hosts) == "bitbucket"
    assert provider_for_url("https://code.example.com:8443/acme/widgets.git", hosts) == "gitea"
    assert provider_for_url("https://github.com/acme/widgets.git", hosts) == "gitlab"  # the entry wins
    assert provider_for_url("https://old.example.com/acme/widgets.git", hosts) == OTHER


def test_hosts_of_repositories_known_by_name_alone() -> None:
    forges = [ForgeConfig("bitbucket-cloud", "bb.example.com", "https://api.bb.example.com"),
              ForgeConfig("github", "github.com", "https://api.github.com")]
    assert name_hosts("bitbucket-cloud", forges) == ["bb.example.com"]
    assert name_hosts("bitbucket-cloud", forges[1:]) == ["bitbucket.org"]
    assert name_hosts("github", forges) == []
    assert name_hosts("sourceforge", forges) == []


def test_a_bad_entry_is_the_forges_layers_error_and_each_caller_says_where() -> None:
    with pytest.raises(ForgeEntryError) as raised:
        forge_from_entry({"kind": "gitlab", "host": "git.example.com"})
    assert str(raised.value) == "gitlab on git.example.com needs an api_url"
    assert not isinstance(raised.value, SettingsError)
    with pytest.raises(SettingsError, match=r"^forges\[2\]: gitlab on git.example.com needs an api_url$"):
        parse_forge({"kind": "gitlab", "host": "git.example.com"}, "forges[2]")


def test_the_api_answers_a_bad_entry_as_it_did(client: FlaskClient, admin: dict[str, str]) -> None:
    r = client.post("/api/v1/forges", json={"kind": "nope", "host": "x.example"}, headers=admin)
    assert r.status_code == 422
    assert r.json["error"] == {"code": "invalid", "message": "forge: kind must be one of " + ", ".join(KINDS)}


def test_a_stored_forge_gets_its_git_user_name_from_its_driver() -> None:
    fields = {"host": "h.example", "api_url": "https://h.example", "token": "t", "webhook_secret": "",
              "git_protocol": "https", "username": ""}
    assert forge_config(kind="gitlab", **fields).git_username == "oauth2"
    assert forge_config(kind="bitbucket-server", **fields).git_username == ""
    assert forge_config(kind="gitlab", **{**fields, "username": "bot"}).git_username == "bot"
