"""The API against its own OpenAPI document (Schemathesis), on SQLite and on PostgreSQL: whatever is
sent, no 5xx, every answer JSON, and every answer as the document describes it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from service.settings import load_settings
from service.web import create_app
from tests.support.live import ADMIN
from tests.support.services import postgres_database

AUTH = {"Authorization": f"Bearer {ADMIN}"}
EXAMPLES = 40  # per operation: over 1,000 cases per database

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A service with a repo, a rule and tokens to find (no worker: jobs stay queued)."""
    with postgres_database() if request.param == "postgresql" else contextlib.nullcontext("") as database:
        app = create_app(load_settings({
            "GITFERRY_DATA_DIR": str(tmp_path_factory.mktemp("schema") / "data"), "GITFERRY_DATABASE_URL": database,
            "GITFERRY_ADMIN_TOKEN": ADMIN, "GITFERRY_SECRET_KEY": "k" * 32, "GITFERRY_FETCH_INTERVAL": "0"}))
        client = app.test_client()
        client.post("/api/v1/repos", json={"name": "acme/widgets", "url": "https://github.com/acme/widgets"},
                    headers=AUTH)
        client.post("/api/v1/repos/acme/widgets/rules", json={"name": "nightly", "remote": "origin", "branch": "main"},
                    headers=AUTH)
        yield app
        app.extensions["gitferry"].store.close()


CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def strategies(operation: schemathesis.APIOperation) -> list[st.SearchStrategy[schemathesis.Case]]:
    """Valid and invalid requests, and valid ones about the repo and rule that exist (to go past a 404)."""
    found = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    names = {p.name for p in operation.path_parameters}
    if "name" in names:
        known = {"name": "acme/widgets", **({"rule": "nightly"} if "rule" in names else {})}
        found.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    return found


def test_every_operation_answers_as_its_document_says(api_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [found.ok() for found in schema.get_all_operations()]
    tried = {operation.label: answered(operation) for operation in operations}
    assert sum(tried.values()) >= 1000, tried


def answered(operation: schemathesis.APIOperation) -> int:
    """How many requests of `operation` were sent and answered as the document says."""
    tried = 0

    @given(st.one_of(strategies(operation)))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def answers(case: schemathesis.Case) -> None:
        nonlocal tried
        case.query = {k: v for k, v in (case.query or {}).items() if k != "wait"}  # no worker: nothing ends
        case.call_and_validate(headers=AUTH, checks=CHECKS)
        tried += 1

    answers()
    return tried
