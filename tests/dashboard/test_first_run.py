"""A first run: `gitferry serve` on a database with no token prints a sign-in link that works."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.dashboard.test_browser import browser
from tests.support.live import Processes

__all__ = ["browser"]  # the browser tests' browser, shared


def startup_lines(procs: Processes, wanted: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while wanted not in procs.log("serve") and time.monotonic() < deadline:
        time.sleep(0.1)
    return [line for line in procs.log("serve").splitlines() if line.strip()]


def test_a_first_run_prints_a_sign_in_link_that_signs_in(browser: Browser, tmp_path: Path) -> None:
    sent: list[str] = []  # every URL the browser asks for
    procs = Processes(tmp_path, {"GITFERRY_ADMIN_TOKEN": "", "GITFERRY_FETCH_INTERVAL": "0"})
    try:
        procs.serve()
        lines = startup_lines(procs, "shown this once")
        assert lines[:2] == [f"gitferry: dashboard on {procs.api.base}/  (API {procs.api.base}/api/v1, "
                             f"health {procs.api.base}/healthz)", f"gitferry: data in {tmp_path}"], lines
        assert not [line for line in lines if "alembic" in line or "Booting worker" in line or "celery@" in line]
        link = re.search(r"sign in at (\S+/dashboard/sign-in#token=(\S+))", "\n".join(lines))
        assert link, lines
        url, token = link.groups()
        assert token.startswith("gf_") and "?" not in url  # after '#': no request carries it
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.on("request", lambda request: sent.append(request.url))
        page.goto(url)
        expect(page).to_have_url(f"{procs.api.base}/dashboard/")
        expect(page.locator("header")).to_contain_text("admin token")
        assert sent and not [u for u in sent if token in u]
        page.go_back()  # the history keeps the form's address, not the link's
        assert token not in page.url
        page.context.close()
        everything = "\n".join(startup_lines(procs, " ready."))  # the worker's start too
        assert "SecurityWarning" not in everything and "superuser" not in everything  # no box of warnings
        assert ("gitferry: the worker runs as root" in everything) == (os.geteuid() == 0)
    finally:
        procs.stop_all()


def test_no_token_is_made_where_there_is_one_already(tmp_path: Path) -> None:
    from service.cli import _first_run_token
    from service.jobs import open_store
    from service.settings import load_settings

    settings = load_settings({"GITFERRY_DATA_DIR": str(tmp_path)})
    store = open_store(settings)
    try:
        store.upgrade()
        made = _first_run_token(settings, store)
        assert made is not None and store.tokens.scope_of(made) == "admin"
        assert _first_run_token(settings, store) is None  # a second run: the token is there
        with_admin = load_settings({"GITFERRY_DATA_DIR": str(tmp_path), "GITFERRY_ADMIN_TOKEN": "x" * 20})
        store.tokens.delete("admin")
        assert _first_run_token(with_admin, store) is None  # an admin token is set: no need
    finally:
        store.close()
