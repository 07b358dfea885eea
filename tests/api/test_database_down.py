"""A request that loses the database on its way gets a 503 to retry, not a crash."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError


def test_losing_the_database_mid_request_is_a_503_to_retry(app: Flask, client: FlaskClient, admin: dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.extensions["gitferry"].store

    def gone(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(store.repos, "all", gone)
    answer = client.get("/api/v1/repos", headers=admin)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json == {"error": {"code": "database_unavailable",
                                     "message": "the database is not reachable; try again"}}
