"""The OpenAPI document is served and lists every /api/v1 and /hooks rule of the app with its methods;
its operations are named, its examples valid and a job's result is named by the job's kind."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.contract import check, check_named


def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()  # type: ignore[no-any-return]


def openapi_path(rule: str) -> str:
    """Flask's `/repos/<path:name>` is OpenAPI's `/repos/{name}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def template(path: str) -> str:
    """A path with its parameter names blanked: `/hooks/{endpoint}` and `/hooks/{forge}` are one path."""
    return re.sub(r"{[^{}]+}", "{}", path)


def documented_rule(rule: str) -> bool:
    return (rule.startswith("/api/v1/") and rule != "/api/v1/openapi.json") or rule.startswith("/hooks/")


def test_document_is_openapi_3_1(client: FlaskClient) -> None:
    doc = document(client)
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"] == {**doc["components"]["securitySchemes"]["bearer"],
                                                              "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    for name in ("Repo", "Remote", "Branch", "Job", "Error"):
        assert doc["components"]["schemas"][name]["type"] == "object"


def test_every_api_rule_is_documented_with_its_methods(app: Flask, client: FlaskClient) -> None:
    paths = {template(path): item for path, item in document(client)["paths"].items()}
    wanted: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if documented_rule(rule.rule):
            methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
            wanted.setdefault(template(openapi_path(rule.rule)), set()).update(methods)
    assert "/api/v1/repos/{}/branches/{}/upstream" in wanted  # the conversion works
    assert "/hooks/{}" in wanted
    missing = {path: sorted(methods - set(paths.get(path, {}))) for path, methods in wanted.items()}
    assert {path: m for path, m in missing.items() if m} == {}
    documented = {path for path in paths if path != "/api/v1/openapi.json"}
    assert documented - set(wanted) == set(), "documented but not served"


def test_path_parameters_match_the_template(client: FlaskClient) -> None:
    for path, item in document(client)["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            if method == "parameters":
                continue
            params = item.get("parameters", []) + operation.get("parameters", [])
            declared = {p["name"] for p in params if p["in"] == "path"}
            assert declared == names, (path, method)
            assert all(p["required"] for p in params if p["in"] == "path")
            assert operation["responses"], (path, method)


def test_every_reference_resolves(client: FlaskClient) -> None:
    doc = document(client)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str):
                _, section, kind, name = target.split("/")
                assert name in doc[section][kind], target
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


def test_request_bodies_follow_api_md(client: FlaskClient) -> None:
    paths = document(client)["paths"]

    def body(path: str, method: str) -> dict[str, Any]:
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]

    assert body("/api/v1/repos", "post")["required"] == ["name", "url"]
    assert body("/api/v1/repos/{name}/pull", "post")["required"] == ["branch"]
    push = body("/api/v1/repos/{name}/push", "post")["properties"]
    assert set(push) == {"branch", "remote", "remote_branch", "set_upstream", "force", "expect", "dry_run"}
    assert body("/api/v1/repos/{name}/branches/{branch}/upstream", "put")["required"] == ["remote", "branch"]
    assert body("/api/v1/tokens", "post")["properties"]["scope"]["enum"] == ["read", "write", "admin"]


def test_rules_and_notifications_follow_api_md(client: FlaskClient) -> None:
    doc = document(client)
    paths = doc["paths"]
    rules = paths["/api/v1/repos/{name}/rules"]
    body = rules["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name", "remote", "branch"]
    assert set(body["properties"]) == {"name", "remote", "branch", "local_branch", "strategy", "push_to",
                                       "allow_force"}
    assert {"201", "400", "401", "403", "404", "409", "422"} <= set(rules["post"]["responses"])
    assert "get" in rules and "delete" in paths["/api/v1/repos/{name}/rules/{rule}"]
    rule = doc["components"]["schemas"]["Rule"]
    assert set(rule["required"]) == set(body["properties"])
    patch = paths["/api/v1/repos/{name}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"notify_url", "notify_secret"} <= set(patch["properties"])
    assert {"type": "null"} in patch["properties"]["notify_url"]["oneOf"]  # null clears
    secret = patch["properties"]["notify_secret"]["oneOf"]
    assert {"type": "null"} in secret and any(s.get("writeOnly") for s in secret)
    repo = doc["components"]["schemas"]["Repo"]["properties"]
    assert "notify_url" in repo and repo["notify_secret_set"]["type"] == "boolean"
    assert "notify_secret" not in repo  # write-only


def test_webhooks_are_documented_without_bearer(app: Flask, client: FlaskClient) -> None:
    from service.forges.registry import drivers_for

    doc = document(client)
    hook = doc["paths"]["/hooks/{forge}"]
    forges = hook["parameters"][0]["schema"]["enum"]
    assert sorted(forges) == sorted(["github", "gitlab", "bitbucket", "gitea", "azure-devops"])
    assert all(drivers_for(forge) for forge in forges)
    post = hook["post"]
    assert post["security"] == []
    assert {"200", "202", "400", "401", "413"} <= set(post["responses"])
    answers = doc["components"]["schemas"]["WebhookAnswer"]["oneOf"]
    assert sorted(a["required"] for a in answers) == [["ignored"], ["jobs"]]
    # An unknown forge is a JSON 404, as documented.
    response = client.post("/hooks/sourcehut", json={})
    assert response.status_code == 404 and response.mimetype == "application/json"


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in doc["paths"].items()
            for method, operation in item.items() if method != "parameters"]


def test_every_operation_has_a_unique_operation_id_a_summary_and_declared_tags(client: FlaskClient) -> None:
    doc = document(client)
    ids = [operation.get("operationId") for _, _, operation in operations(doc)]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert all(operation.get("summary") for _, _, operation in operations(doc))
    declared = {tag["name"]: tag.get("description") for tag in doc["tags"]}
    assert all(declared.values()), declared
    used = {tag for _, _, operation in operations(doc) for tag in operation["tags"]}
    assert used == set(declared)


def test_examples_are_valid_against_their_own_schemas(client: FlaskClient) -> None:
    doc = document(client)
    shown = 0
    for _, _, operation in operations(doc):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            media = body.get("content", {}).get("application/json", {})
            if "example" in media:
                check(doc, media["schema"], media["example"])
                shown += 1
    assert shown >= 12
    for main in ("add_repo", "add_remote", "fetch", "pull", "push", "list_branches", "get_job"):
        operation = next(op for _, _, op in operations(doc) if op["operationId"] == main)
        answers = [a for a in operation["responses"].values() if "content" in a]
        assert any("example" in a["content"]["application/json"] for a in answers), main


def test_a_jobs_result_is_named_by_its_kind(client: FlaskClient) -> None:
    from service.domain.types import JobKind

    doc = document(client)
    schemas = doc["components"]["schemas"]
    job = schemas["Job"]
    assert {v["$ref"].rsplit("/", 1)[1] for v in job["oneOf"]} == {f"{k.capitalize()}Job" for k in JobKind}
    assert job["discriminator"]["propertyName"] == "kind"
    for kind in JobKind:
        variant = schemas[job["discriminator"]["mapping"][kind.value].rsplit("/", 1)[1]]
        own = variant["allOf"][1]["properties"]
        assert own["kind"]["enum"] == [kind.value]
        assert f"#/components/schemas/{kind.capitalize()}Result" in str(own["result"])
    fetch = {"id": 1, "repo": "a/b", "kind": "fetch", "state": "done", "trigger": "api", "started_by": "ci-bot",
             "params": {}, "result": {"remotes": {"origin": {"updated": [], "deleted": [], "default_branch": "main"}}},
             "error": None, "progress": None,
             "created_at": None, "started_at": None, "finished_at": None}
    check_named(doc, "Job", fetch)
    with pytest.raises(AssertionError):  # a fetch job cannot carry a pull's result
        check_named(doc, "Job", {**fetch, "result": {"outcome": "merged", "before": "0" * 40, "after": "1" * 40,
                                                     "conflicts": []}})


def test_the_remote_added_is_answered_with_its_fetch_job(client: FlaskClient) -> None:
    doc = document(client)
    answer = doc["paths"]["/api/v1/repos/{name}/remotes"]["post"]["responses"]["201"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/AddedRemote"}
    added = doc["components"]["schemas"]["AddedRemote"]["allOf"]
    assert added[0] == {"$ref": "#/components/schemas/Remote"}
    assert added[1]["required"] == ["job"] and added[1]["properties"]["job"]["$ref"] == "#/components/schemas/Job"


def test_the_examples_have_the_fields_the_api_answers_with(client: FlaskClient, admin: dict[str, str]) -> None:
    doc = document(client)
    post = doc["paths"]["/api/v1/repos"]["post"]
    example = post["responses"]["201"]["content"]["application/json"]["example"]
    request = post["requestBody"]["content"]["application/json"]["example"]
    answer = client.post("/api/v1/repos", json=request, headers=admin)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    real = answer.get_json()
    assert set(example) == set(real) and set(example["job"]) == set(real["job"])
    check_named(doc, "Repo", real)
    fetched = doc["paths"]["/api/v1/repos/{name}/fetch"]["post"]["responses"]["200"]["content"]["application/json"]
    answer = client.post("/api/v1/repos/acme/widgets/fetch", json={"remote": "origin"}, headers=admin)
    assert answer.status_code == 202, answer.get_data(as_text=True)  # no worker here: the job stays queued
    assert set(answer.get_json()["job"]) == set(fetched["example"]["job"])
    check(doc, fetched["schema"], answer.get_json())
