"""Signing in to the dashboard, from Flask's test client or over HTTP against a live server."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import requests

from tests.support.live import ADMIN

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def sign_in(client: Any, token: str = ADMIN) -> str:
    """Sign a Flask test client in; the session's CSRF token."""
    form = client.get("/dashboard/sign-in")
    signed = client.post("/dashboard/sign-in", data={"csrf": _CSRF.search(form.text).group(1), "token": token})
    assert signed.status_code == 303, signed.text
    return csrf_of(client.get("/dashboard/").text)


def sign_in_over_http(base: str, token: str = ADMIN) -> tuple[requests.Session, str]:
    """A requests session signed in to a live server, and its CSRF token."""
    http = requests.Session()
    form = http.get(f"{base}/dashboard/sign-in", timeout=30)
    signed = http.post(f"{base}/dashboard/sign-in", timeout=30,
                       data={"csrf": _CSRF.search(form.text).group(1), "token": token})  # type: ignore[union-attr]
    assert signed.status_code == 200 and signed.url.endswith("/dashboard/"), signed.text
    return http, csrf_of(signed.text)


def csrf_of(page: str) -> str:
    found = _META.search(page)
    assert found, page[:2000]
    return found.group(1)


class Markup(HTMLParser):
    """What a page holds that could run script: script tags, event-handler attributes, javascript: links."""

    def __init__(self, page: str):
        super().__init__()
        self.scripts: list[str | None] = []
        self.handlers: list[tuple[str, str]] = []
        self.inline_script = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values.get("src"))
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.handlers.append((tag, name))

    def handle_data(self, data: str) -> None:
        if self.lasttag == "script" and data.strip():
            self.inline_script = True
