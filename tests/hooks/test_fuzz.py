"""Every webhook endpoint against mutated real deliveries, signed and not (Hypothesis): never a 5xx,
always JSON, and nothing recorded from a delivery that is not signed with the secret."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from service.forges.registry import BY_KIND
from service.settings import load_settings
from service.web import create_app
from tests.forges.webhooks.support import SECRET, payload
from tests.forges.webhooks.test_all_forges import FORGES, Forge
from tests.support.live import ADMIN
from tests.support.services import postgres_database

EXAMPLES = 60  # per forge and database: 720 deliveries in all

# Values that have broken parsers or databases before: NUL, lone surrogates, brackets, long text.
NASTY = st.sampled_from(["", "\x00", "a\x00b", "\ud800", "https://[x", "https://[::1/x.git", "git@[x:y", "x" * 300,
                         "refs/heads/", "refs/heads/\x00", "0" * 40, "0" * 64, "-oProxyCommand=x", "ext::sh"])
LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | NASTY
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=6)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value where another value could stand."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, forge: Forge) -> tuple[bytes, dict[str, str], bool]:
    """A real delivery of `forge` with a few values replaced or removed; signed with the secret or not."""
    name, event = forge.files[draw(st.sampled_from(sorted(forge.files)))]
    body: Any = copy.deepcopy(payload(forge.name, name))
    for _ in range(draw(st.integers(0, 4))):
        where = list(paths(body))
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(VALUES)
    if draw(st.integers(0, 9)) == 0:
        body = draw(VALUES)
    raw = json.dumps(body).encode()
    headers = dict(forge.event_headers(event))
    if draw(st.integers(0, 4)) == 0:  # a header of the forge's own set to something odd (headers are ASCII)
        headers[draw(st.sampled_from(sorted(headers)))] = draw(st.text(st.characters(min_codepoint=32,
                                                                                      max_codepoint=126), max_size=300))
    signed = draw(st.booleans())
    headers.update(forge.sign(raw, SECRET if signed else "not-the-secret"))
    return raw, headers, signed


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def intake(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with postgres_database() if request.param == "postgresql" else contextlib.nullcontext("") as database:
        app = create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path_factory.mktemp("fuzz") / "data"),
                                        "GITFERRY_DATABASE_URL": database, "GITFERRY_ADMIN_TOKEN": ADMIN,
                                        "GITFERRY_WEBHOOK_SECRET": SECRET}))
        client = app.test_client()
        for forge in FORGES:  # every forge's fixture repository is managed: signed deliveries queue fetches
            url = forge.clone_urls[0] if forge.clone_urls else forge.web_url
            client.post("/api/v1/repos", json={"name": f"fuzz/{forge.name}", "url": url},
                        headers={"Authorization": f"Bearer {ADMIN}"})
        yield app
        app.extensions["gitferry"].store.close()


def recorded(app: Flask) -> tuple[int, int]:
    with app.extensions["gitferry"].store.db.read() as conn:
        return (conn.execute(text("SELECT count(*) FROM deliveries")).scalar_one(),
                conn.execute(text("SELECT count(*) FROM jobs")).scalar_one())


@pytest.mark.parametrize("forge", FORGES, ids=[f.name for f in FORGES])
def test_no_delivery_makes_a_5xx_and_an_unsigned_one_records_nothing(intake: Flask, forge: Forge,
                                                                     tmp_path: Path) -> None:
    client = intake.test_client()
    endpoint = BY_KIND[forge.driver.forge].endpoint

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(mutated(forge))
    def one(delivery: tuple[bytes, dict[str, str], bool]) -> None:
        raw, headers, signed = delivery
        before = recorded(intake)
        response = client.post(f"/hooks/{endpoint}", data=raw, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.is_json and set(response.json) & {"jobs", "ignored", "ok", "error"}, response.data
        if not signed:  # refused (401, or 400 for headers no forge sends) before anything is recorded
            assert response.status_code in (400, 401) and recorded(intake) == before

    one()
