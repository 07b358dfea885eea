"""A request that loses the database on its way gets a 503 to retry, not a crash."""

from __future__ import annotations

from pathlib import Path

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


def test_a_full_sqlite_database_answers_503(tmp_path: Path) -> None:
    """SQLite's own "database or disk is full" (here: a page limit, as a full disk gives), on
    writes through SQLAlchemy and hand-written statements alike: 503, never a 500."""
    from sqlalchemy import event

    from service.settings import load_settings
    from service.web import create_app
    from tests.support.live import ADMIN

    app = create_app(load_settings({"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_ADMIN_TOKEN": ADMIN}))
    store = app.extensions["gitferry"].store
    with store.db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(store.db.engine, "connect")
    def no_room(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    store.db.dispose()  # connections from now on have no room left
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ADMIN}"}
    statuses = set()
    for n in range(40):
        body = {"name": f"acme/r{n}", "url": "https://github.com/acme/r", "protected_branches": ["x" * 200] * 50}
        answer = client.post("/api/v1/repos", json=body, headers=auth)
        statuses.add(answer.status_code)
        assert answer.status_code in (201, 503), answer.get_data(as_text=True)
        if answer.status_code == 503:
            assert answer.json["error"]["code"] == "database_unavailable" and answer.headers["Retry-After"]
            break
    assert 503 in statuses
    store.close()
